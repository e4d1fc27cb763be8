/**
 * Activation: one log channel, the active-model switch, hovers, the Inspect command and panel.
 * Every registration goes into `context.subscriptions`; other features add one line each below.
 */
import * as vscode from 'vscode';
import { ActiveModelSwitch, SettingsModelProvider } from './activeModel.js';
import { registerBenchmarkView } from './benchmarkView.js';
import { HostModelCache } from './hostModel.js';
import { InspectionHovers } from './hovers.js';
import { InspectCommand } from './inspectCommand.js';
import { registerModels } from './models/registerModels.js';
import { registerPinCommands } from './pinCommands.js';

export interface ExtensionApi {
  /** Which model inspections use; the model store installs its provider with `activeModel.use(…)`. */
  activeModel: ActiveModelSwitch;
  log: vscode.LogOutputChannel;
}

export function activate(context: vscode.ExtensionContext): ExtensionApi {
  const began = Date.now();
  const log = vscode.window.createOutputChannel('Attention Inspector', { log: true });
  const settingsModel = new SettingsModelProvider(context.extensionUri);
  const activeModel = new ActiveModelSwitch(settingsModel);
  const hostModels = new HostModelCache();
  const hovers = new InspectionHovers();
  context.subscriptions.push(log, settingsModel, activeModel, hovers);
  context.subscriptions.push(new InspectCommand(context, activeModel, hostModels, hovers, log));
  context.subscriptions.push(registerBenchmarkView(context, log));
  context.subscriptions.push(registerPinCommands());
  context.subscriptions.push(activeModel.onDidChange((m) => log.info(`active model: ${m.label} (${m.folderUri.fsPath})`)));
  registerModels(context, activeModel, settingsModel, log).catch((e) => log.error(`model store unavailable: ${e instanceof Error ? e.message : String(e)}`));
  log.info(`activated in ${Date.now() - began} ms; model ${activeModel.getActive().label}`);
  return { activeModel, log };
}

export function deactivate(): void {}
