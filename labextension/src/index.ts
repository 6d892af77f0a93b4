/**
 * neuro-jupyter's JupyterLab extension: the Neuro jobs sidebar and its
 * commands, restored with the layout.
 */
import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import {
  Clipboard,
  ICommandPalette,
  showErrorMessage,
  WidgetTracker
} from '@jupyterlab/apputils';
import { PageConfig } from '@jupyterlab/coreutils';
import { ISettingRegistry } from '@jupyterlab/settingregistry';

import { JobsService } from './api';
import { JobEvents } from './events';
import { JobPage } from './jobPage';
import { JobsModel } from './model';
import { NeuroSidebar } from './sidebar';
import { IJob, isLive, JobStatus } from './types';

/** The commands, in one `neuro:` namespace. */
export namespace CommandIDs {
  export const show = 'neuro:show-jobs';
  export const refresh = 'neuro:refresh';
  export const launch = 'neuro:launch';
  export const open = 'neuro:open-job';
  export const kill = 'neuro:kill';
  export const rerun = 'neuro:rerun';
  export const shell = 'neuro:shell';
  export const openUrl = 'neuro:open-url';
  export const copyId = 'neuro:copy-id';
  export const copyUrl = 'neuro:copy-url';
}

/** The sidebar's job rows, which the context menu's items are for. */
const ROW_SELECTOR = '.neuro-JobRow[data-job-id]';

/**
 * The shell a Shell button opens: bash where the job has it, else sh. The
 * server says where its `neuro-jupyter` is (a login shell's PATH may not).
 */
export function shellCommand(jobId: string): string {
  return (
    `\${NEURO_JUPYTER_COMMAND:-neuro-jupyter} exec -t ${jobId} -- ` +
    "sh -c 'command -v bash >/dev/null 2>&1 && exec bash || exec sh'"
  );
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
  // One push stream for the list and every job page (issue 12).
  const events = new JobEvents(service);
  events.start();
  // Under a hub the page names its user: others' shared jobs say whose.
  const me = PageConfig.getOption('hubUser') || null;
  const sidebar = new NeuroSidebar({ service, events, me });
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
      if (loaded.get('livePush').composite === false) {
        events.stop(); // poll only
      } else {
        events.start();
      }
    };
    settings
      .load(PLUGIN_ID)
      .then(loaded => {
        apply(loaded);
        loaded.changed.connect(apply);
      })
      .catch(reason => console.warn('neuro-jupyter: no settings', reason));
  }

  /** The row a context menu was opened on, if it was. */
  const clickedRow = (): HTMLElement | undefined =>
    app.contextMenuHitTest(node => node.matches(ROW_SELECTOR));
  /** The job a command is for: its `id` argument, else the clicked row's. */
  const jobIdOf = (args: { id?: unknown }): string =>
    args.id !== undefined ? String(args.id) : clickedRow()?.dataset.jobId ?? '';

  const withJob =
    (title: string, run: (job: IJob) => Promise<unknown>) =>
    async (args: { id?: unknown }) => {
      try {
        await run(await service.getJob(jobIdOf(args)));
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
  // One page per job in the main area, restored with the layout (issue 12).
  const pages = new WidgetTracker<JobPage>({ namespace: 'neuro-job' });
  const openPage = (jobId: string): JobPage => {
    const open = pages.find(page => page.jobId === jobId);
    if (open) {
      app.shell.activateById(open.id);
      return open;
    }
    const page = new JobPage({
      service,
      events,
      jobId,
      actions: {
        kill: job => actions.kill(job),
        rerun: job => actions.rerun(job),
        shell: job => commands.execute(CommandIDs.shell, { id: job.id })
      }
    });
    void pages.add(page);
    app.shell.add(page, 'main');
    app.shell.activateById(page.id);
    return page;
  };
  actions.openPage = jobId => void openPage(jobId);
  if (restorer) {
    void restorer.restore(pages, {
      command: CommandIDs.open,
      args: page => ({ id: page.jobId }),
      name: page => page.jobId
    });
  }
  commands.addCommand(CommandIDs.open, {
    label: 'Open Neuro Job',
    execute: args => {
      openPage(jobIdOf(args));
    }
  });
  // The row's context menu (issue 12): open, open URL, kill, rerun, copy.
  const rowUrl = () => clickedRow()?.dataset.httpUrl ?? '';
  commands.addCommand(CommandIDs.openUrl, {
    label: 'Open Job URL',
    isVisible: () => !!rowUrl(),
    execute: () => void window.open(rowUrl(), '_blank', 'noopener')
  });
  commands.addCommand(CommandIDs.copyId, {
    label: 'Copy Job Id',
    execute: args => Clipboard.copyToSystem(jobIdOf(args))
  });
  commands.addCommand(CommandIDs.copyUrl, {
    label: 'Copy Job URL',
    isVisible: () => !!rowUrl(),
    execute: () => Clipboard.copyToSystem(rowUrl())
  });
  commands.addCommand(CommandIDs.shell, {
    label: 'Shell in Neuro Job',
    execute: async args => {
      // A Lab terminal running neuro-jupyter exec: the API's address and
      // token are in every terminal's environment (DESIGN.md §1).
      const terminal = (await commands.execute('terminal:create-new')) as {
        content: { session: { send(message: unknown): void } };
        title: { label: string };
      };
      terminal.title.label = `Shell: ${String(args.id)}`;
      terminal.content.session.send({
        type: 'stdin',
        content: [`${shellCommand(String(args.id))}\r`]
      });
    }
  });
  commands.addCommand(CommandIDs.kill, {
    label: 'Kill Neuro Job',
    // From a row: only while the job is live (the list says so).
    isEnabled: args => {
      const status = args.id === undefined ? clickedRow()?.dataset.status : undefined;
      return status === undefined || isLive(status as JobStatus);
    },
    execute: withJob('Cannot kill the job', job => actions.kill(job))
  });
  commands.addCommand(CommandIDs.rerun, {
    label: 'Rerun Neuro Job',
    execute: withJob('Cannot rerun the job', job => actions.rerun(job))
  });
  [
    CommandIDs.open,
    CommandIDs.openUrl,
    CommandIDs.kill,
    CommandIDs.rerun,
    CommandIDs.copyId,
    CommandIDs.copyUrl
  ].forEach((command, rank) =>
    app.contextMenu.addItem({ command, selector: ROW_SELECTOR, rank })
  );
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
