/**
 * ECS task scale-in protection while this worker runs a flow. Outside ECS (no ECS_AGENT_URI)
 * the no-op port is used.
 */
export interface TaskProtection {
  /**
   * Protects the task for `coverMs` from now, or as long as ECS allows if less: resolves to how
   * long it is protected for.
   */
  enable(coverMs: number): Promise<number>;
  disable(): Promise<void>;
}

export const noTaskProtection: TaskProtection = {
  enable: async (coverMs) => coverMs,
  disable: async () => undefined,
};

/** ExpiresInMinutes accepts 1 to 2880 (48 h). */
const MAX_EXPIRES_MINUTES = 2880;

/**
 * PUT $ECS_AGENT_URI/task-protection/v1/state. The agent signs the call with the task role,
 * which therefore needs ecs:UpdateTaskProtection on its own task.
 */
export function createEcsTaskProtection(agentUri: string, timeoutMs = 3000): TaskProtection {
  const put = async (body: { ProtectionEnabled: boolean; ExpiresInMinutes?: number }) => {
    const res = await fetch(`${agentUri.replace(/\/+$/, '')}/task-protection/v1/state`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    // The agent answers 200 with a `failure` object when ECS refused the change.
    if (!res.ok || text.includes('"failure"')) {
      throw new Error(`task protection ${res.status}: ${text.slice(0, 200)}`);
    }
  };
  return {
    async enable(coverMs) {
      const minutes = Math.min(MAX_EXPIRES_MINUTES, Math.max(1, Math.ceil(coverMs / 60_000)));
      await put({ ProtectionEnabled: true, ExpiresInMinutes: minutes });
      return Math.min(coverMs, minutes * 60_000);
    },
    async disable() {
      await put({ ProtectionEnabled: false });
    },
  };
}
