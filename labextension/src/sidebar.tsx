/**
 * The left-sidebar panel: a Lumino widget composing a header and the view
 * the model selects (the list, one job, or the launch form).
 */
import { Dialog, showDialog, showErrorMessage } from '@jupyterlab/apputils';
import {
  LabIcon,
  refreshIcon,
  addIcon,
  VDomRenderer
} from '@jupyterlab/ui-components';
import { Message } from '@lumino/messaging';
import { PanelLayout, Widget } from '@lumino/widgets';
import * as React from 'react';

import { JobsService } from './api';
import { jobTitle } from './format';
import { JobEvents } from './events';
import { JobDetail, IJobActions } from './jobDetail';
import { JobList } from './jobList';
import { LaunchForm } from './launchForm';
import { JobsModel } from './model';
import { IJob } from './types';

import neuroSvg from '../style/icons/neuro.svg';

/** The sidebar's icon. */
export const neuroIcon = new LabIcon({
  name: 'neuro-jupyter:jobs',
  svgstr: neuroSvg
});

/** What the sidebar and the commands do to jobs, in one place. */
export class JobActions implements IJobActions {
  constructor(readonly model: JobsModel) {}

  /**
   * Where a job is shown: its page in the main area once the plugin sets
   * this (issue 12); the sidebar's own detail view without it.
   */
  openPage: ((jobId: string) => void) | null = null;

  /** Show one job. */
  open(jobId: string): void {
    if (this.openPage) {
      this.openPage(jobId);
      if (this.model.view.kind !== 'list') {
        this.model.view = { kind: 'list' };
      }
      return;
    }
    this.model.view = { kind: 'detail', jobId };
  }

  /** Show the list, fresh. */
  back(): void {
    this.model.view = { kind: 'list' };
    void this.model.refresh();
  }

  /** Show the launch form. */
  launch(): void {
    this.model.view = { kind: 'launch' };
  }

  /** Ask, then kill; the ended job, or null when the user said no. */
  async kill(job: IJob): Promise<IJob | null> {
    const answer = await showDialog({
      title: 'Kill job?',
      body: `Kill ${jobTitle(job)} (${job.id})? Its processes are stopped; the job ends as cancelled.`,
      buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: 'Kill' })]
    });
    if (!answer.button.accept) {
      return null;
    }
    const ended = await this.model.service.killJob(job.id);
    void this.model.refresh();
    return ended;
  }

  /** As `kill`, saying why in a dialog if it fails (a row's Kill button). */
  async killOrSay(job: IJob): Promise<IJob | null> {
    try {
      return await this.kill(job);
    } catch (error) {
      await showErrorMessage('Cannot kill the job', error as Error);
      return null;
    }
  }

  /**
   * Who "you" are, where the page says (a hub's user); the list then names
   * the owner of a job shared with you. Unknown on a lone server, where
   * every job is yours.
   */
  me: string | null = null;

  /** Start a new job from `job`'s spec and show it (a job page shows it itself). */
  async rerun(job: IJob): Promise<IJob> {
    const fresh = await this.model.service.rerunJob(job.id);
    if (!this.openPage) {
      this.open(fresh.id);
    }
    void this.model.refresh();
    return fresh;
  }

  /** A job just launched from the form. */
  launched(job: IJob): void {
    this.open(job.id);
    void this.model.refresh();
  }
}

/** The header and the current view, re-rendered when the model changes. */
class JobsPanel extends VDomRenderer<JobsModel> {
  constructor(model: JobsModel, private _actions: JobActions) {
    super(model);
    this.addClass('neuro-JobsPanel');
  }

  protected render(): JSX.Element {
    const model = this.model;
    const actions = this._actions;
    const view = model.view;
    let body: JSX.Element;
    if (view.kind === 'detail') {
      body = (
        <JobDetail
          key={view.jobId}
          service={model.service}
          jobId={view.jobId}
          actions={actions}
          events={model.events}
        />
      );
    } else if (view.kind === 'launch') {
      body = (
        <LaunchForm
          service={model.service}
          onLaunched={job => actions.launched(job)}
          onCancel={() => actions.back()}
        />
      );
    } else {
      body = (
        <JobList
          model={model}
          onOpen={job => actions.open(job.id)}
          actions={{ kill: job => void actions.killOrSay(job) }}
          me={actions.me}
        />
      );
    }
    return (
      <>
        <header className="neuro-Header">
          <span className="neuro-Header-title">Neuro jobs</span>
          <button
            className="jp-ToolbarButtonComponent jp-mod-minimal jp-Button"
            data-test-id="neuro-launch-open"
            title="New job"
            onClick={() => actions.launch()}
          >
            <addIcon.react tag="span" />
          </button>
          <button
            className="jp-ToolbarButtonComponent jp-mod-minimal jp-Button"
            data-test-id="neuro-refresh"
            title="Refresh"
            onClick={() => void model.refresh()}
          >
            <refreshIcon.react tag="span" />
          </button>
        </header>
        {body}
      </>
    );
  }
}

/** The Neuro jobs sidebar. */
export class NeuroSidebar extends Widget {
  constructor(options: NeuroSidebar.IOptions) {
    super();
    this.id = NeuroSidebar.ID;
    this.addClass('neuro-Sidebar');
    this.node.dataset.testId = 'neuro-sidebar';
    this.title.icon = neuroIcon;
    this.title.caption = 'Neuro jobs';
    this.model = new JobsModel({
      service: options.service,
      interval: options.interval,
      events: options.events
    });
    this.actions = new JobActions(this.model);
    this.actions.me = options.me ?? null;
    const layout = (this.layout = new PanelLayout());
    layout.addWidget(new JobsPanel(this.model, this.actions));
  }

  /** The widget id the restorer and tests know the sidebar by. */
  static ID = 'neuro-jupyter-sidebar';

  /** The list and view state. */
  readonly model: JobsModel;

  /** What the buttons and commands do. */
  readonly actions: JobActions;

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this.model.dispose();
    super.dispose();
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    this.model.visible = true;
  }

  protected onAfterHide(msg: Message): void {
    super.onAfterHide(msg);
    this.model.visible = false;
  }
}

/** The sidebar's options. */
export namespace NeuroSidebar {
  export interface IOptions {
    service: JobsService;
    /** Refresh interval of the list while it polls, in ms. */
    interval?: number;
    /** The server's pushes of job changes; without them the list polls. */
    events?: JobEvents;
    /** Who "you" are, if the page says (a hub's user). */
    me?: string | null;
  }
}
