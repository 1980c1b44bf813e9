/**
 * The local deployment's live view, its pure parts: a Prometheus exposition summed per metric
 * (over labels; histograms by their count; Node's process metrics left out), and the screen it
 * draws from a snapshot (anchors per gateway, the fog members' endorsements, alarms and refusals,
 * each layer's contracts).
 */
import { expect } from "chai";

import { parseMetrics, render, type Snapshot, summaryLine } from "../../services/local/live-view.ts";

const EXPOSITION = `# HELP strata_layer_rejections_total requests refused, by reason
# TYPE strata_layer_rejections_total counter
strata_layer_rejections_total{reason="bad-source",service="layer"} 2
strata_layer_rejections_total{reason="replayed",service="layer"} 1
strata_layer_alarms_total{kind="replayed",service="layer"} 1
strata_fog_batch_size_bucket{le="1",service="fog"} 3
strata_fog_batch_size_sum{service="fog"} 7
strata_fog_batch_size_count{service="fog"} 3
strata_process_cpu_user_seconds_total{service="fog"} 1.5
strata_nodejs_heap_size_total_bytes{service="fog"} 1000
strata_station_pending_readings{service="station"} 0
`;

describe("local deployment view", () => {
  describe("parseMetrics", () => {
    it("sums each metric over its labels, keeps histograms' counts, leaves process metrics out", () => {
      expect(parseMetrics(EXPOSITION)).to.deep.equal({
        strata_layer_rejections_total: 3,
        strata_layer_alarms_total: 1,
        strata_fog_batch_size_count: 3,
        strata_station_pending_readings: 0,
      });
    });
  });

  describe("render", () => {
    const snapshot: Snapshot = {
      uptimeS: 12,
      chains: [
        { name: "hardhat", chainId: "31337", block: 40 },
        { name: "anvil", chainId: "31338", block: 9 },
      ],
      anchors: { "station-1": { batches: 2, leaves: 5 }, "fog cluster": { batches: 1, leaves: 3 } },
      ledgers: { city: { opened: 1, recorded: 3, accomplished: 1, replayed: 1, chain: "anvil" } },
      services: {
        "fog-2": { strata_fog_endorsements_total: 1 },
        "city-1": parseMetrics(EXPOSITION),
        "station-1": "unreachable (connect ECONNREFUSED)",
      },
      events: ["23:00:00 contract 1: 9 summaries recorded across district A, city, district B"],
    };

    it("draws anchors, signers, alarms and refusals, contracts and events", () => {
      const screen = render(snapshot).join("\n");
      expect(screen).to.match(/station-1 +2 batches +5 leaves/);
      expect(screen).to.include("sensitive batches endorsed (sign shares) by: fog-2 1");
      expect(screen).to.include("city-1: layer_rejections 3");
      expect(screen).to.include("city-1: layer_alarms 1");
      expect(screen).to.match(/city +on anvil +1 opened, 3 summaries, 1 accomplished, 1 replays refused/);
      expect(screen).to.include("station-1        unreachable (connect ECONNREFUSED)");
      expect(screen).to.include("contract 1: 9 summaries recorded");
    });

    it("says so when nothing is anchored or refused yet", () => {
      const empty: Snapshot = { ...snapshot, anchors: {}, ledgers: {}, services: {}, events: [] };
      const screen = render(empty);
      expect(screen).to.include("  none yet");
      expect(screen).to.include("  none");
      expect(summaryLine(empty)).to.equal(
        "[12s] hardhat #40, anvil #9 | anchors: none yet | summaries/accomplished: none yet",
      );
    });
  });
});
