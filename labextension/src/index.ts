/**
 * neuro-jupyter's JupyterLab extension: the Neuro jobs sidebar and its
 * commands, restored with the layout.
 */
import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette, showErrorMessage } from '@jupyterlab/apputils';
import { ISettingRegistry } from '@jupyterlab/settingregistry';

import { JobsService } from './api';
import { JobsModel } from './model';
import { NeuroSidebar } from './sidebar';
import { IJob } from './types';

/** The commands, in one `neuro:` namespace. */
export namespace CommandIDs {
  export const show = 'neuro:show-jobs';
  export const refresh = 'neuro:refresh';
  export const launch = 'neuro:launch';
  export const open = 'neuro:open-job';
  export const kill = 'neuro:kill';
  export const rerun = 'neuro:rerun';
}

const PLUGIN_ID = 'neuro-jupyter:plugin';

function activate(
  app: JupyterFrontEnd,
  restorer: ILayoutRestorer | null,
  settings: ISettingRegistry | null,
  palette: ICommandPalette | null
): NeuroSidebar {
  // The app's own settings: base URL (hub prefix included), token, XSRF.
  const service = new JobsService(app.serviceManager.serverSettings);
  const sidebar = new NeuroSidebar({ service });
  const { model, actions } = sidebar;

  app.shell.add(sidebar, 'left', { rank: 250 });
  if (restorer) {
    restorer.add(sidebar, NeuroSidebar.ID);
  }

  if (settings) {
    const apply = (loaded: ISettingRegistry.ISettings) => {
      const seconds = loaded.get('refreshInterval').composite as number;
      model.interval = Math.min(
        Math.max(500, seconds * 1000),
        JobsModel.MAX_INTERVAL
      );
    };
    settings
      .load(PLUGIN_ID)
      .then(loaded => {
        apply(loaded);
        loaded.changed.connect(apply);
      })
      .catch(reason => console.warn('neuro-jupyter: no settings', reason));
  }

  const withJob =
    (title: string, run: (job: IJob) => Promise<unknown>) =>
    async (args: { id?: unknown }) => {
      try {
        await run(await service.getJob(String(args.id)));
      } catch (error) {
        await showErrorMessage(title, error as Error);
      }
    };

  const { commands } = app;
  commands.addCommand(CommandIDs.show, {
    label: 'Show Neuro Jobs',
    execute: () => app.shell.activateById(NeuroSidebar.ID)
  });
  commands.addCommand(CommandIDs.refresh, {
    label: 'Refresh Neuro Jobs',
    execute: () => model.refresh()
  });
  commands.addCommand(CommandIDs.launch, {
    label: 'New Neuro Job…',
    execute: () => {
      actions.launch();
      app.shell.activateById(NeuroSidebar.ID);
    }
  });
  commands.addCommand(CommandIDs.open, {
    label: 'Open Neuro Job',
    execute: args => {
      actions.open(String(args.id));
      app.shell.activateById(NeuroSidebar.ID);
    }
  });
  commands.addCommand(CommandIDs.kill, {
    label: 'Kill Neuro Job',
    execute: withJob('Cannot kill the job', job => actions.kill(job))
  });
  commands.addCommand(CommandIDs.rerun, {
    label: 'Rerun Neuro Job',
    execute: withJob('Cannot rerun the job', job => actions.rerun(job))
  });
  if (palette) {
    for (const command of [CommandIDs.show, CommandIDs.refresh, CommandIDs.launch]) {
      palette.addItem({ command, category: 'Neuro Jobs' });
    }
  }
  return sidebar;
}

/** The sidebar plugin. */
const plugin: JupyterFrontEndPlugin<NeuroSidebar> = {
  id: PLUGIN_ID,
  description: 'Neuro jobs sidebar: list, filter, launch, watch, kill and rerun jobs.',
  autoStart: true,
  optional: [ILayoutRestorer, ISettingRegistry, ICommandPalette],
  activate
};

export default plugin;
