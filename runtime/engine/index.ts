/** The flow engine: validates flow definitions and runs them. */
export { defaultEngineLimits, type EngineLimits } from './engine-limits';
export { type FlowDefinition, flowDefinitionSchema, parseFlowDefinition } from './flow-schema';
export { createFlowRunner } from './run-flow';
export type {
  FlowOutcome,
  FlowRunner,
  FlowRunOptions,
  InputTruncated,
  StepLogEntry,
  TriggerInput,
} from './types';
