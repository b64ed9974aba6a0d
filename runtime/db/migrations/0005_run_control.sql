ALTER TABLE "runs" ADD COLUMN "replay_of" text;--> statement-breakpoint
ALTER TABLE "runs" ADD COLUMN "scheduled_at" timestamp (3) with time zone;--> statement-breakpoint
CREATE UNIQUE INDEX "runs_flow_scheduled_at_idx" ON "runs" USING btree ("flow_id","scheduled_at") WHERE scheduled_at is not null;