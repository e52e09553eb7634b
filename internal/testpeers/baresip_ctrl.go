package testpeers

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"testing"
	"time"
)

// FreeTCPPort returns a TCP port free on 127.0.0.1 right now.
func FreeTCPPort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// ctrlMsg is one ctrl_tcp message (netstring-framed JSON): a response to
// a command or an event.
type ctrlMsg struct {
	Response bool   `json:"response"`
	Event    bool   `json:"event"`
	OK       bool   `json:"ok"`
	Data     string `json:"data"`
	Token    string `json:"token"`
	Type     string `json:"type"`
}

// Control runs one baresip command over ctrl_tcp (needs
// BaresipOptions.Control), e.g. Control(t, "transfer", "sip:gen-110@host")
// or Control(t, "dial", uri), and returns its response text. It fails on a
// refused command, a dead connection or after 10 s.
func (p *Baresip) Control(t testing.TB, command, params string) string {
	t.Helper()
	out, err := p.control(command, params)
	if err != nil {
		t.Fatalf("baresip %s %q: %v\n%s", command, params, err, p.out.String())
	}
	return out
}

// TryControl is Control returning the error instead of failing the test
// (for commands that may be refused, such as hangup with no call).
func (p *Baresip) TryControl(command, params string) (string, error) {
	return p.control(command, params)
}

func (p *Baresip) control(command, params string) (string, error) {
	if p.CtrlPort == 0 {
		return "", errors.New("baresip started without Control")
	}
	c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(p.CtrlPort), 5*time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	token := strconv.FormatInt(time.Now().UnixNano(), 36)
	b, err := json.Marshal(map[string]string{"command": command, "params": params, "token": token})
	if err != nil {
		return "", err
	}
	if _, err := fmt.Fprintf(c, "%d:%s,", len(b), b); err != nil {
		return "", err
	}
	r := bufio.NewReader(c)
	for {
		body, err := readNetstring(r)
		if err != nil {
			return "", err
		}
		var m ctrlMsg
		if err := json.Unmarshal(body, &m); err != nil {
			return "", fmt.Errorf("bad ctrl_tcp message %q: %w", body, err)
		}
		if !m.Response || (m.Token != "" && m.Token != token) {
			continue // an event, or another client's response
		}
		if !m.OK {
			return m.Data, fmt.Errorf("refused: %s", m.Data)
		}
		return m.Data, nil
	}
}

// readNetstring reads one "len:body," frame (bounded to 1 MiB).
func readNetstring(r *bufio.Reader) ([]byte, error) {
	n := 0
	for {
		ch, err := r.ReadByte()
		if err != nil {
			return nil, err
		}
		if ch == ':' {
			break
		}
		if ch < '0' || ch > '9' || n > 1<<20 {
			return nil, fmt.Errorf("bad netstring length byte %q", ch)
		}
		n = n*10 + int(ch-'0')
	}
	body := make([]byte, n+1)
	if _, err := io.ReadFull(r, body); err != nil {
		return nil, err
	}
	if body[n] != ',' {
		return nil, errors.New("netstring without trailing comma")
	}
	return body[:n], nil
}
