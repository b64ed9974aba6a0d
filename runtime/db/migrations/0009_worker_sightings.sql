CREATE TABLE "worker_sightings" (
	"worker_id" text PRIMARY KEY NOT NULL,
	"seen_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE INDEX "worker_sightings_seen_idx" ON "worker_sightings" USING btree ("seen_at");