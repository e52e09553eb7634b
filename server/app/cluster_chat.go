package app

import (
	"context"

	"onecall/chat"
	"onecall/console"
	"onecall/console/chatbridge"
)

// Chats across the nodes of a cluster (docs/cluster.md, "Chats across
// nodes"): a chat lives on the node its citizen's WebSocket reached, its
// owner in the KV bucket onecall_chat_owner; the console reaches it from
// any node through chatbridge.Cluster. On a single node (a.node nil) none
// of this runs and the console talks to the local chat service.

// startClusterChat opens the owners' bucket and sets the chat service's
// cluster hooks in o. Called only when a.node != nil.
func (a *App) startClusterChat(ctx context.Context, o *chat.Options) error {
	cl, err := chatbridge.NewCluster(ctx, a.node, chatbridge.ClusterOptions{Logger: a.log})
	if err != nil {
		return err
	}
	a.chatCluster = cl
	o.Claim, o.Publish = cl.Claim, cl.Publish
	return nil
}

// serveClusterChat answers the other nodes for the chats held here, once
// the chat service exists.
func (a *App) serveClusterChat() error {
	if a.chatCluster == nil {
		return nil
	}
	return a.chatCluster.Serve(a.chat)
}

// chatAgent is the console's chat service: across nodes in a cluster.
func (a *App) chatAgent() console.ChatAgent {
	if a.chatCluster != nil {
		return a.chatCluster
	}
	return chatbridge.New(a.chat)
}

// closeClusterChat stops answering for the chats here (before the chat
// service closes); their citizens resume on other nodes, which take them.
func (a *App) closeClusterChat() {
	if a.chatCluster != nil {
		a.chatCluster.Close()
	}
}
