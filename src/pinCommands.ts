/**
 * Attention Inspector: Pin Inspection / Unpin Inspection — the panel's Pin button from the palette: pin
 * the inspection shown, then inspect another selection to compare the two (webview/inspector/pinnedComparison.ts).
 */
import * as vscode from 'vscode';
import { InspectorPanel } from './inspectorPanel.js';

export function registerPinCommands(): vscode.Disposable {
  const tell = (pin: boolean) => {
    const panel = InspectorPanel.currentPanel();
    if (!panel) {
      void vscode.window.showInformationMessage(pin ? 'Attention Inspector: nothing to pin — run Inspect Attention on a selection first.' : 'Attention Inspector: nothing is pinned.');
      return;
    }
    panel.post({ type: 'pinInspection', pin });
  };
  return vscode.Disposable.from(
    vscode.commands.registerCommand('attentionInspector.pinInspection', () => tell(true)),
    vscode.commands.registerCommand('attentionInspector.unpinInspection', () => tell(false)),
  );
}
