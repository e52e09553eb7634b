package sip

import (
	"errors"
	"fmt"
	"net"
	"slices"

	"github.com/emiago/diago/media"
	"github.com/emiago/diago/media/sdp"
)

// mediaCodecs are the codecs every leg offers and accepts: G.711 (no
// transcoding anywhere) and RFC 4733 events.
var mediaCodecs = []media.Codec{media.CodecAudioUlaw, media.CodecAudioAlaw, media.CodecTelephoneEvent8000}

// errUnusableSDP wraps every reason an offer cannot be answered (488).
var errUnusableSDP = errors.New("sip: unusable SDP offer")

// checkOffer runs diago's own offer/answer negotiation on a session without
// sockets, so an INVITE whose SDP diago would refuse is answered 488 before
// any port is allocated, and adds what diago lets through: an audio stream
// with port 0 (refused), a multicast address, or telephone-event as the only
// common format.
func checkOffer(body []byte) error {
	ms := &media.MediaSession{Codecs: slices.Clone(mediaCodecs), Mode: sdp.ModeSendrecv}
	if err := ms.RemoteSDP(body, false); err != nil {
		return fmt.Errorf("%w: %v", errUnusableSDP, err)
	}
	if ms.Raddr.Port <= 0 || ms.Raddr.Port > 65535 {
		return fmt.Errorf("%w: audio port %d", errUnusableSDP, ms.Raddr.Port)
	}
	if ip := ms.Raddr.IP; ip.IsMulticast() || ip.Equal(net.IPv4bcast) {
		return fmt.Errorf("%w: connection address %s", errUnusableSDP, ip)
	}
	for _, c := range ms.CommonCodecs() {
		if c.Matches(media.CodecAudioUlaw) || c.Matches(media.CodecAudioAlaw) {
			return nil
		}
	}
	return fmt.Errorf("%w: no common audio codec (PCMU, PCMA)", errUnusableSDP)
}
