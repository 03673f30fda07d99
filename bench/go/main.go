// The Go anchor of `npm run bench`: KubeEdge beehive's channel context (pkg/core/channel/context_channel.go
// and pkg/core/model/message.go) as its behaviour is documented, measured on this machine in the same run
// as the TypeScript figures. It is written from that documentation, not taken from beehive (whose source
// this project does not keep): a channel of 1024 per module behind a read-write lock, an unbuffered
// response channel per SendSync registered before the request is sent and closed after it, deadlines with
// time.After, a non-blocking SendResp that drops a response its waiter is not parked for, and messages
// built with uuid.New() and time.Now(). Warnings are counted instead of logged.
//
// Prints one JSON object: send→receive messages/s; sendSync with one caller and one responder that
// answers every request with NewRespByMessage: answered calls per second of time spent in answered
// calls, calls per second of wall time (a dropped response costs its caller the timeout), and the
// share of responses dropped.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"
)

type MessageHeader struct {
	ID              string
	ParentID        string
	Timestamp       int64
	ResourceVersion string
	Sync            bool
	MessageType     string
}

type MessageRoute struct {
	Source      string
	Destination string
	Group       string
	Operation   string
	Resource    string
}

type Message struct {
	Header  MessageHeader
	Router  MessageRoute
	Content interface{}
}

func NewMessage(parentID string) *Message {
	msg := &Message{}
	msg.Header.ID = uuid.New().String()
	msg.Header.ParentID = parentID
	msg.Header.Timestamp = time.Now().UnixNano() / 1e6
	return msg
}

func (msg *Message) GetID() string       { return msg.Header.ID }
func (msg *Message) GetParentID() string { return msg.Header.ParentID }

// NewRespByMessage as the notes give it: a new message whose parent is the request, source and group
// copied, the request's resource, operation "response", its type, and the content.
func (msg *Message) NewRespByMessage(m *Message, content interface{}) *Message {
	resp := NewMessage(m.GetID())
	resp.Router.Source = m.Router.Source
	resp.Router.Group = m.Router.Group
	resp.Router.Resource = m.Router.Resource
	resp.Router.Operation = "response"
	resp.Header.MessageType = m.Header.MessageType
	resp.Content = content
	return resp
}

type Context struct {
	channels     map[string]chan Message
	chsLock      sync.RWMutex
	anonChannels map[string]chan Message
	anonChsLock  sync.RWMutex
	dropped      int64
	droppedLock  sync.Mutex
}

func NewContext() *Context {
	return &Context{channels: map[string]chan Message{}, anonChannels: map[string]chan Message{}}
}

func (ctx *Context) AddModule(module string) {
	ctx.chsLock.Lock()
	ctx.channels[module] = make(chan Message, 1024)
	ctx.chsLock.Unlock()
}

func (ctx *Context) getChannel(module string) chan Message {
	ctx.chsLock.RLock()
	defer ctx.chsLock.RUnlock()
	return ctx.channels[module]
}

func (ctx *Context) Send(module string, message Message) {
	channel := ctx.getChannel(module)
	if channel == nil {
		return
	}
	defer func() { _ = recover() }()
	channel <- message
}

func (ctx *Context) Receive(module string) (Message, error) {
	channel := ctx.getChannel(module)
	if channel == nil {
		return Message{}, fmt.Errorf("failed to get channel for module(%s)", module)
	}
	return <-channel, nil
}

func (ctx *Context) SendSync(module string, message Message, timeout time.Duration) (Message, error) {
	defer func() { _ = recover() }()
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	deadline := time.Now().Add(timeout)
	message.Header.Sync = true
	reqChannel := ctx.getChannel(module)
	if reqChannel == nil {
		return Message{}, fmt.Errorf("bad request module name(%s)", module)
	}
	anonChan := make(chan Message)
	anonName := message.GetID()
	ctx.anonChsLock.Lock()
	ctx.anonChannels[anonName] = anonChan
	ctx.anonChsLock.Unlock()
	defer func() {
		ctx.anonChsLock.Lock()
		delete(ctx.anonChannels, anonName)
		close(anonChan)
		ctx.anonChsLock.Unlock()
	}()
	select {
	case reqChannel <- message:
	case <-time.After(timeout):
		return Message{}, fmt.Errorf("timeout to send message %s", anonName)
	}
	var resp Message
	select {
	case resp = <-anonChan:
	case <-time.After(time.Until(deadline)):
		return Message{}, errTimeout
	}
	return resp, nil
}

var errTimeout = errors.New("timeout to get response")

func (ctx *Context) SendResp(message Message) {
	anonName := message.GetParentID()
	ctx.anonChsLock.RLock()
	defer ctx.anonChsLock.RUnlock()
	if channel, exist := ctx.anonChannels[anonName]; exist {
		select {
		case channel <- message:
		default:
			ctx.droppedLock.Lock()
			ctx.dropped++
			ctx.droppedLock.Unlock()
		}
		return
	}
}

func sendReceive(n int) float64 {
	ctx := NewContext()
	ctx.AddModule("m")
	m := Message{Header: MessageHeader{ID: "x"}}
	done := make(chan struct{})
	start := time.Now()
	go func() {
		for i := 0; i < n; i++ {
			if _, err := ctx.Receive("m"); err != nil {
				panic(err)
			}
		}
		close(done)
	}()
	for i := 0; i < n; i++ {
		ctx.Send("m", m)
	}
	<-done
	return float64(n) / time.Since(start).Seconds()
}

type syncResult struct {
	answeredPerSecond float64
	wallPerSecond     float64
	droppedShare      float64
}

func sendSync(n int, timeout time.Duration) syncResult {
	ctx := NewContext()
	ctx.AddModule("echo")
	go func() {
		for {
			request, err := ctx.Receive("echo")
			if err != nil {
				return
			}
			ctx.SendResp(*request.NewRespByMessage(&request, "ok"))
		}
	}()
	var answeredTime time.Duration
	answered := 0
	start := time.Now()
	for i := 0; i < n; i++ {
		began := time.Now()
		_, err := ctx.SendSync("echo", *NewMessage(""), timeout)
		if err == nil {
			answered++
			answeredTime += time.Since(began)
		}
	}
	wall := time.Since(start)
	return syncResult{
		answeredPerSecond: float64(answered) / answeredTime.Seconds(),
		wallPerSecond:     float64(n) / wall.Seconds(),
		droppedShare:      float64(ctx.dropped) / float64(n),
	}
}

func median(xs []float64) float64 {
	sorted := append([]float64(nil), xs...)
	for i := range sorted {
		for j := i + 1; j < len(sorted); j++ {
			if sorted[j] < sorted[i] {
				sorted[i], sorted[j] = sorted[j], sorted[i]
			}
		}
	}
	return sorted[len(sorted)/2]
}

func main() {
	scale := 1.0
	if len(os.Args) > 1 {
		if s, err := strconv.ParseFloat(os.Args[1], 64); err == nil {
			scale = s
		}
	}
	runs := 5
	n := int(2_000_000 * scale)
	syncN := int(200_000 * scale)
	// A dropped response costs its caller the whole timeout: 10 ms keeps the run short (the TypeScript
	// benchmark's calls have 1 s, and lose none).
	timeout := 10 * time.Millisecond
	sendReceive(n / 10)
	sendSync(syncN/10, timeout)
	var sends, answered, wall, dropped []float64
	for r := 0; r < runs; r++ {
		sends = append(sends, sendReceive(n))
		s := sendSync(syncN, timeout)
		answered = append(answered, s.answeredPerSecond)
		wall = append(wall, s.wallPerSecond)
		dropped = append(dropped, s.droppedShare)
	}
	out, _ := json.Marshal(map[string]float64{
		"sendReceive":          median(sends),
		"sendSyncAnswered":     median(answered),
		"sendSyncWall":         median(wall),
		"sendSyncDroppedShare": median(dropped),
	})
	fmt.Println(string(out))
}
