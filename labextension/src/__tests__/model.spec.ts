import { JobsService, NeuroAPIError } from '../api';
import { JobsModel, parseTags } from '../model';
import { IJob, IListQuery } from '../types';
import { fakeServer, makeJob } from './fakeServer';

/** A service whose listing answers from a script, recording each query. */
class ScriptedService extends JobsService {
  queries: IListQuery[] = [];
  answers: Array<IJob[] | Error> = [];

  constructor() {
    super(fakeServer(() => new Response('{}')).settings);
  }

  async listJobs(query: IListQuery): Promise<IJob[]> {
    this.queries.push(query);
    const answer = this.answers.shift() ?? [];
    if (answer instanceof Error) {
      throw answer;
    }
    return answer;
  }
}

describe('parseTags', () => {
  it('splits on spaces and commas', () => {
    expect(parseTags(' kind:project,target:setup  x ')).toEqual([
      'kind:project',
      'target:setup',
      'x'
    ]);
    expect(parseTags('')).toEqual([]);
  });
});

describe('JobsModel', () => {
  let service: ScriptedService;
  let model: JobsModel;

  beforeEach(() => {
    service = new ScriptedService();
    model = new JobsModel({ service, interval: 60000 });
    model.visible = true;
  });

  afterEach(() => model.dispose());

  it('loads the list and says when it has', async () => {
    expect(model.loading).toBe(true);
    service.answers.push([makeJob()]);
    let changes = 0;
    model.stateChanged.connect(() => changes++);
    await model.refresh();
    expect(model.loading).toBe(false);
    expect(model.jobs.map(j => j.name)).toEqual(['train']);
    expect(model.error).toBeNull();
    expect(changes).toBeGreaterThan(0);
  });

  it('asks the server for what the filters say', async () => {
    model.setFilters({ runningOnly: true, tags: 'kind:project', search: 'tra' });
    await model.refresh();
    expect(service.queries[service.queries.length - 1]).toEqual({
      liveOnly: true,
      tags: ['kind:project'],
      q: 'tra',
      limit: 200
    });
  });

  it('keeps the readable error and the last list when a refresh fails', async () => {
    service.answers.push([makeJob()]);
    await model.refresh();
    service.answers.push(new NeuroAPIError('The neuro-jupyter server extension is not enabled', 'not-enabled', 404));
    await model.refresh();
    expect(model.error?.kind).toBe('not-enabled');
    expect(model.jobs).toHaveLength(1);
    service.answers.push([]);
    await model.refresh();
    expect(model.error).toBeNull();
    expect(model.jobs).toHaveLength(0);
  });

  it('asks nothing while the sidebar is hidden', async () => {
    model.visible = false;
    const asked = service.queries.length;
    await model.refresh();
    expect(service.queries).toHaveLength(asked);
    model.visible = true;
    await model.refresh();
    expect(service.queries.length).toBeGreaterThan(asked);
  });

  it('narrows the list as soon as a filter is typed', async () => {
    const other = makeJob({
      id: 'job-00000000-0000-4000-8000-000000000002',
      name: 'other',
      command: 'python eval.py'
    });
    service.answers.push([makeJob(), other]);
    await model.refresh();
    service.answers.push([other]);
    model.setFilters({ search: 'EVAL' });
    // Before the server answers: the list as loaded, filtered here.
    expect(model.jobs.map(j => j.name)).toEqual(['other']);
    model.setFilters({ search: '' });
    expect(model.jobs.map(j => j.name)).toEqual(['train', 'other']);
  });

  it('asks the server at once, one request at a time, the last filters last', async () => {
    await model.refresh();
    const asked = service.queries.length;
    for (const search of ['e', 'ev', 'eva', 'eval']) {
      model.setFilters({ search }); // typed faster than the server answers
    }
    // 'e' at once (no pause in typing); the rest wait for its answer.
    expect(service.queries.slice(asked).map(q => q.q)).toEqual(['e']);
    await new Promise(resolve => setTimeout(resolve, 0));
    // Then only the filters as they are now.
    expect(service.queries.slice(asked).map(q => q.q)).toEqual(['e', 'eval']);
  });

  it('switches views', () => {
    model.view = { kind: 'detail', jobId: 'job-1' };
    expect(model.view).toEqual({ kind: 'detail', jobId: 'job-1' });
  });

  it('keeps the refresh interval within the backoff limit', () => {
    model.interval = 2000;
    expect(model.interval).toBe(2000);
  });
});
