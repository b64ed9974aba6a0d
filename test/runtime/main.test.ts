import { spawnSync } from 'node:child_process';
import { readFileSync, realpathSync } from 'node:fs';
import { delimiter, resolve, sep } from 'node:path';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { S3Client } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { NODE_MAJOR } from '../../runtime/limits';

const pkg = JSON.parse(readFileSync('package.json', 'utf8'));

/** The `node` found on PATH without node_modules/.bin: the machine's own (Node 20 here). */
function systemNode(): { path: string; version: string } | null {
  const PATH = (process.env.PATH ?? '')
    .split(delimiter)
    .filter((dir) => !dir.includes(`node_modules${sep}.bin`))
    .join(delimiter);
  const probe = spawnSync('node', ['-p', 'process.execPath + " " + process.versions.node'], {
    env: { PATH },
    encoding: 'utf8',
  });
  if (probe.status !== 0) return null;
  const [path = '', version = ''] = probe.stdout.trim().split(' ');
  return { path, version };
}

describe('the process entry', () => {
  const other = systemNode();

  it.skipIf(other === null || other.version.startsWith(`${NODE_MAJOR}.`))(
    'stops on an unsupported Node.js with one line naming the supported one',
    () => {
      const started = spawnSync(other?.path ?? '', ['--no-node-snapshot', 'dist/main.mjs'], {
        env: { PATH: '', SLUICE_ROLE: 'all' },
        encoding: 'utf8',
      });

      expect(started.status).toBe(1);
      expect(started.stderr.trim().split('\n')).toEqual([
        `sluice runs on Node.js 24 LTS (24.11 or a later 24.x), not v${other?.version}`,
      ]);
    },
  );
});

describe('on Node 24', () => {
  it('runs the tests, and every process they start, on the node package the image matches', () => {
    expect(process.versions.node).toBe(pkg.devDependencies.node);
    expect(realpathSync(process.execPath).startsWith(`${resolve('node_modules/node')}${sep}`)).toBe(
      true,
    );
  });

  it('creates AWS SDK clients without the Node version support warning', async () => {
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(`${warning.name}: ${warning.message}`);
    process.on('warning', onWarning);
    try {
      new S3Client({ region: 'eu-west-1' }).destroy();
      new CloudWatchClient({ region: 'eu-west-1' }).destroy();
      await new Promise((done) => setImmediate(done));
    } finally {
      process.off('warning', onWarning);
    }

    expect(warnings.filter((warning) => warning.includes('NodeVersionSupportWarning'))).toEqual([]);
  });
});
