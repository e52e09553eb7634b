#!/bin/sh
# Regenerates the IVR prompts: 8 kHz mono 16-bit PCM WAV, Korean (ko_) and
# English (en_), with Debian's espeak-ng and sox. The outputs are committed
# and embedded into the binary (sip/prompts.go). Run from anywhere:
#   sh sip/prompts/generate.sh
set -eu
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

say() { # lang name text
	espeak-ng -v "$1" -s 170 -w "$tmp/$2.wav" "$3"
	sox "$tmp/$2.wav" -r 8000 -c 1 -b 16 -e signed-integer "$1_$2.wav"
}

say ko greeting "정부 통합 민원 콜센터입니다."
say ko menu "한국어는 1번, 노동 상담은 2번, English press 9."
say ko invalid "잘못 누르셨습니다."
say ko afterhours "지금은 상담 시간이 아닙니다. 평일 오전 9시부터 오후 6시까지 상담합니다."
say ko hold "잠시만 기다려 주십시오. 콜백을 원하시면 1번을 누르세요."
say ko position "고객님의 대기 순서는"
say ko minutes "예상 대기 시간은 분입니다"
say ko callback "콜백이 예약되었습니다. 순서대로 연락드리겠습니다."
say ko goodbye "감사합니다."
say en greeting "Welcome to the government call center."
say en menu "For Korean press 1, for labor press 2, for English press 9."
say en invalid "Sorry, that is not a valid choice."
say en afterhours "We are closed now. Please call on weekdays from 9 to 6."
say en hold "Please hold. To be called back keeping your place, press 1."
say en position "You are number"
say en minutes "Estimated wait in minutes"
say en callback "Your callback is booked. We will call you back in turn."
say en goodbye "Thank you. Goodbye."
for d in 0 1 2 3 4 5 6 7 8 9; do
	say ko "d$d" "$(echo 영 일 이 삼 사 오 육 칠 팔 구 | cut -d' ' -f$((d + 1)))"
	say en "d$d" "$d"
done

# Hold music: a short tone melody (about 4 s), looped by the player.
sox -n -r 8000 -c 1 -b 16 -e signed-integer music.wav \
	synth 0.5 sine 523 synth 0.5 sine 659 : synth 0.5 sine 784 : synth 0.5 sine 659 : \
	synth 0.5 sine 587 : synth 0.5 sine 698 : synth 0.5 sine 880 : synth 0.5 sine 698 gain -12
