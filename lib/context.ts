import type { Node } from 'constructs';
import type { SluiceStackProps } from './stacks/sluice-stack';

/** The context keys bin/sluice.ts reads; each is the SluiceStackProps prop of the same name. */
export const NUMBER_KEYS = [
  'peakConcurrentFlows',
  'onDemandWorkerBase',
  'workerCpu',
  'workerMemoryMiB',
  'appCpu',
  'appMemoryMiB',
  'webhookTimeoutSeconds',
  'flowTimeoutSeconds',
  'originResponseTimeoutSeconds',
  'logRetentionDays',
  'runLogRetentionDays',
  'runRetentionDays',
  'minWorkers',
  'backlogPerWorkerTarget',
  'databaseMinAcu',
  'databaseMaxAcu',
  'databasePauseAfterMinutes',
  'queueMaxReceiveCount',
  'natGateways',
] as const;
export const STRING_KEYS = [
  'domainName',
  'certificateArn',
  'originCertificateArn',
  'imageUri',
  'queuePrefix',
] as const;

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * Reads SluiceStackProps from context. `cdk.json` gives typed JSON, while `-c key=value` gives
 * strings, so numbers and booleans are accepted in both forms; ranges are checked by the stack.
 */
export function sluiceStackPropsFromContext(node: Node): SluiceStackProps {
  const props: Mutable<SluiceStackProps> = {};
  for (const key of NUMBER_KEYS) {
    const raw: unknown = node.tryGetContext(key);
    if (raw === undefined || raw === '') continue;
    const value = typeof raw === 'string' && /^\s*-?\d+(\.\d+)?\s*$/.test(raw) ? Number(raw) : raw;
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw new Error(`${key} must be a number (got ${JSON.stringify(raw)})`);
    }
    props[key] = value;
  }
  for (const key of STRING_KEYS) {
    const raw: unknown = node.tryGetContext(key);
    if (raw === undefined || raw === '') continue;
    if (typeof raw !== 'string')
      throw new Error(`${key} must be a string (got ${JSON.stringify(raw)})`);
    props[key] = raw;
  }
  const profile: unknown = node.tryGetContext('profile');
  if (profile !== undefined && profile !== '') {
    if (profile !== 'standard' && profile !== 'serverless') {
      throw new Error(`profile must be standard or serverless (got ${JSON.stringify(profile)})`);
    }
    props.profile = profile;
  }
  const cpuArchitecture: unknown = node.tryGetContext('cpuArchitecture');
  if (cpuArchitecture !== undefined && cpuArchitecture !== '') {
    if (cpuArchitecture !== 'x86_64' && cpuArchitecture !== 'arm64') {
      throw new Error(
        `cpuArchitecture must be x86_64 or arm64 (got ${JSON.stringify(cpuArchitecture)})`,
      );
    }
    props.cpuArchitecture = cpuArchitecture;
  }
  const corsOrigins = stringList(node.tryGetContext('corsOrigins'), 'corsOrigins');
  if (corsOrigins !== undefined) props.corsOrigins = corsOrigins;
  const multiAz: unknown = node.tryGetContext('multiAz');
  if (multiAz !== undefined && multiAz !== '') {
    if (multiAz !== true && multiAz !== false && multiAz !== 'true' && multiAz !== 'false') {
      throw new Error(`multiAz must be true or false (got ${JSON.stringify(multiAz)})`);
    }
    props.multiAz = multiAz === true || multiAz === 'true';
  }
  const removalPolicy: unknown = node.tryGetContext('removalPolicy');
  if (removalPolicy !== undefined && removalPolicy !== '') {
    if (removalPolicy !== 'retain' && removalPolicy !== 'destroy') {
      throw new Error(
        `removalPolicy must be retain or destroy (got ${JSON.stringify(removalPolicy)})`,
      );
    }
    props.removalPolicy = removalPolicy;
  }
  return props;
}

/**
 * A list from context: a JSON array in cdk.json, or from `-c key=...` a JSON array string or
 * comma-separated values.
 */
function stringList(raw: unknown, key: string): string[] | undefined {
  if (raw === undefined || raw === '') return undefined;
  let value = raw;
  if (typeof raw === 'string') {
    const text = raw.trim();
    if (text.startsWith('[')) {
      try {
        value = JSON.parse(text);
      } catch {
        throw new Error(`${key} must be a list of strings (got ${JSON.stringify(raw)})`);
      }
    } else {
      value = text.split(',').map((item) => item.trim());
    }
  }
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string' && item !== '')) {
    throw new Error(`${key} must be a list of strings (got ${JSON.stringify(raw)})`);
  }
  return value;
}
