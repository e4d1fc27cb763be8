/**
 * The inspector panel's page: the controller (inspectorController.ts) takes the host's messages and
 * drives one view per card (provider badge, notices, token strip, layer × head grid, the chosen head
 * large, shape trace, ablations, loss and predictions).
 */
import { announceReady, onHostMessage } from './host.js';
import { InspectorController } from './inspectorController.js';

const controller = new InspectorController(document.getElementById('app')!);
onHostMessage((m) => controller.handle(m));
announceReady();
