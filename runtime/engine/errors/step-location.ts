/** Where in a flow an error happened: the step id and its path, such as `each[3].double`. */
export interface StepLocation {
  readonly stepId: string;
  readonly path: string;
}
