/** Deterministic arrival profiles: jobs per second as a function of time. */
export interface ArrivalProfile {
  readonly name: ProfileName;
  readonly horizonS: number;
  rate(t: number): number;
}

export const PROFILE_NAMES = ['steady', 'burst', 'ramp', 'daily'] as const;
export type ProfileName = (typeof PROFILE_NAMES)[number];

const HOUR = 3600;

export const PROFILES: Record<ProfileName, ArrivalProfile> = {
  /** 0.5 flows/s for an hour. */
  steady: { name: 'steady', horizonS: HOUR, rate: () => 0.5 },
  /** One flow every 30 s, and 300 flows in two minutes at minute 15. */
  burst: {
    name: 'burst',
    horizonS: HOUR,
    rate: (t) => 1 / 30 + (t >= 900 && t < 1020 ? 2.5 : 0),
  },
  /** From 0 up to 2.5 flows/s over 30 minutes, then back down to 0. */
  ramp: {
    name: 'ramp',
    horizonS: HOUR,
    rate: (t) => 2.5 * (t < HOUR / 2 ? t / (HOUR / 2) : (HOUR - t) / (HOUR / 2)),
  },
  /** A working day: nothing at night, a sin² peak of 2.5 flows/s at noon. */
  daily: {
    name: 'daily',
    horizonS: 24 * HOUR,
    rate: (t) => {
      const day = (t - 6 * HOUR) / (12 * HOUR);
      return day < 0 || day > 1 ? 0 : 2.5 * Math.sin(Math.PI * day) ** 2;
    },
  },
};
