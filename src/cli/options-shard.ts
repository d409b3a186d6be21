/** The CLI table's sharding options of `eval` (--queue …) and the `worker` command (docs/scale.md). */
import { integerIn, positiveInteger } from './option-values.js';
import { threadsOption, type CommandSpec, type OptionSpec } from './option-specs.js';

const QUEUE_OPTIONS: readonly OptionSpec[] = [
  {
    flags: '--queue <url>',
    description: "PostgreSQL URL of the job queue (postgres://USER:PASSWORD@HOST:PORT/DB), or 'env' to read it from GIBBON_QUEUE_URL",
  },
  { flags: '--queue-name <name>', description: 'the queue within the database (one evaluation at a time per queue)', defaultDescription: 'gibbon-eval' },
  { flags: '--queue-schema <name>', description: "schema of gibbon's tables (pg-boss's: <name>_boss)", defaultDescription: 'gibbon_shard' },
];

/** eval's options for a sharded run. */
export const SHARD_EVAL_OPTIONS: readonly OptionSpec[] = [
  ...QUEUE_OPTIONS,
  {
    flags: '--workers <n>',
    description: 'with --queue: worker processes to start on this machine (0: only workers started elsewhere)',
    parse: integerIn(0, 256, 'workers'),
  },
  {
    flags: '--lease <seconds>',
    description: 'with --queue: how long a worker may hold a unit before it is given to another (longer than the slowest unit)',
    parse: integerIn(5, 86_400, 'lease'),
    defaultDescription: '1800',
  },
];

export const WORKER_COMMAND: CommandSpec = {
  name: 'worker',
  summary: 'compute units of sharded evaluations (gibbon eval --queue) from a PostgreSQL queue, on this machine',
  arguments: [],
  options: [
    ...QUEUE_OPTIONS,
    { flags: '--name <name>', description: 'this worker in results and logs', defaultDescription: 'HOST-PID' },
    { flags: '--idle-exit <seconds>', description: 'stop once the queue has been empty this long', parse: positiveInteger('idle-exit') },
    {
      flags: '--db-timeout <seconds>',
      description: 'a database connection or query that hangs this long (e.g. a network link that went down) is dropped and retried',
      parse: integerIn(1, 3600, 'db-timeout'),
      defaultDescription: '60 (connect: 10)',
    },
    threadsOption,
  ],
};
