import { build, type Metafile } from 'esbuild';
import { beforeAll, describe, expect, it } from 'vitest';
import bundleExternals from '../../scripts/bundle-externals.json';

/**
 * What a process parses and runs at start-up is the bundle's static import graph from its entry
 * and its role's chunk; everything else is a dynamic import, loaded only by the process that
 * needs it. An AWS SDK client in that graph costs every process about 4 MB of idle memory and
 * tens of ms of start-up, so each client must stay behind the dynamic import of its driver.
 */
let outputs: Metafile['outputs'];

beforeAll(async () => {
  // The same entry, splitting and externals as scripts/build.mjs; chunk boundaries follow the
  // import graph alone, so minifying is left out.
  const result = await build({
    entryPoints: { main: 'runtime/main.ts' },
    outdir: 'dist-graph',
    bundle: true,
    splitting: true,
    platform: 'node',
    format: 'esm',
    write: false,
    metafile: true,
    logLevel: 'silent',
    external: bundleExternals,
  });
  outputs = result.metafile.outputs;
}, 60_000);

const outputOf = (entryPoint: string) => {
  const found = Object.entries(outputs).find(([, output]) => output.entryPoint === entryPoint);
  if (found === undefined) throw new Error(`no output chunk for ${entryPoint}`);
  return found[0];
};

/** Every source file in the chunks `from` loads with static imports, its own included. */
function staticallyLoaded(...from: string[]): Set<string> {
  const seen = new Set<string>();
  const inputs = new Set<string>();
  const visit = (chunk: string) => {
    if (seen.has(chunk)) return;
    seen.add(chunk);
    const output = outputs[chunk];
    if (output === undefined) return;
    for (const input of Object.keys(output.inputs)) inputs.add(input);
    for (const imported of output.imports) {
      if (imported.kind === 'import-statement' && !imported.external) visit(imported.path);
    }
  };
  for (const chunk of from) visit(chunk);
  return inputs;
}

const awsSdk = (inputs: Set<string>) =>
  [...inputs].filter((input) => /node_modules\/(@aws-sdk|@smithy)\//.test(input));

describe('modules loaded at start-up', () => {
  it.each(['worker', 'app'])(
    'a bullmq %s loads no AWS SDK code: each client waits for the driver that uses it',
    (role) => {
      const loaded = staticallyLoaded(
        outputOf('runtime/main.ts'),
        outputOf('runtime/start.ts'),
        outputOf(`runtime/roles/${role}.ts`),
      );

      expect(loaded.has(`runtime/roles/${role}.ts`)).toBe(true);
      expect(loaded.has('runtime/queue/bullmq-driver.ts')).toBe(true);
      expect(awsSdk(loaded)).toEqual([]);
    },
  );

  it('the sqs driver, S3 and KMS still carry their clients, in chunks of their own', () => {
    for (const driver of [
      'runtime/queue/sqs-driver.ts',
      'runtime/storage/s3-file-store.ts',
      'runtime/secrets/kms-data-keys.ts',
    ]) {
      expect(awsSdk(staticallyLoaded(outputOf(driver))).length).toBeGreaterThan(0);
    }
  });
});
