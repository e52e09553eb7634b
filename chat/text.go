package chat

import "fmt"

// sysText returns a system message text in lang: ko ("" too), else en.
func sysText(lang, key string, args ...any) string {
	ko := map[string]string{
		"joined":      "%s 상담사가 연결되었습니다.",
		"transferred": "%s 상담사에게 전환되었습니다.",
		"requeued":    "상담사가 나갔습니다. 다음 상담사를 기다리고 있습니다.",
		"ended":       "상담이 종료되었습니다.",
		"idle":        "응답이 없어 상담이 종료되었습니다.",
		"restarted":   "연결이 복구되었습니다. 순서를 유지한 채 다시 대기합니다.",
		"callback":    "%s 번호로 다시 연락드리겠습니다.",
		"message":     "메시지를 남겨 주셔서 감사합니다. 확인 후 연락드리겠습니다.",
	}
	en := map[string]string{
		"joined":      "Agent %s has joined.",
		"transferred": "You were transferred to agent %s.",
		"requeued":    "The agent left. You are waiting for the next agent.",
		"ended":       "The chat has ended.",
		"idle":        "The chat was closed after a period of inactivity.",
		"restarted":   "Connection restored. You keep your place in line.",
		"callback":    "We will call you back at %s.",
		"message":     "Thank you for your message. We will get back to you.",
	}
	t := en
	if lang == "ko" || lang == "" {
		t = ko
	}
	s, ok := t[key]
	if !ok {
		return key
	}
	if len(args) > 0 {
		return fmt.Sprintf(s, args...)
	}
	return s
}

func defaultAlias(lang string, n int) string {
	if lang != "ko" && lang != "" {
		return fmt.Sprintf("Agent %d", n)
	}
	return fmt.Sprintf("상담사 %d", n)
}
