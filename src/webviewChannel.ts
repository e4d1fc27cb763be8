/** The host's end of a webview's messages: the protocol/ messenger over `postMessage` / `onDidReceiveMessage`. */
import * as vscode from 'vscode';
import { hostMessenger, type Messenger, type Protocol, type Transport, type Vocabulary } from '../protocol/messenger.js';

function webviewTransport(webview: vscode.Webview): Transport {
  return {
    post: (m) => void webview.postMessage(m),
    onMessage: (handler) => {
      const subscription = webview.onDidReceiveMessage(handler);
      return () => subscription.dispose();
    },
  };
}

/** A messenger for `webview` that logs what it refuses as `name: …`; dispose it with the view. */
export function webviewMessenger<Host extends Vocabulary, Page extends Vocabulary>(
  protocol: Protocol<Host, Page>,
  webview: vscode.Webview,
  log: vscode.LogOutputChannel,
  name: string,
): Messenger<Host, Page> {
  return hostMessenger(protocol, webviewTransport(webview), (text) => log.warn(`${name}: ${text}`));
}
