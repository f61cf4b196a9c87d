package dev.procq.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;

/** An attempt's cost in words, from the API's fields, without a server. */
class AttemptCostTest {
    static JsonNode attempt(String json) {
        return ApiClient.read(json, JsonNode.class);
    }

    @Test
    void cpuAndPeakMemoryReadInUnitsThatFitThem() {
        assertThat(AttemptCost.describe(attempt("{\"cpuUserMs\": 12, \"cpuSystemMs\": 3, \"maxRssKb\": 4198}")))
                .hasValue("CPU 12 ms user / 3 ms sys, peak 4.1 MiB");
        assertThat(AttemptCost.describe(attempt("{\"cpuUserMs\": 2500, \"cpuSystemMs\": 0, \"maxRssKb\": 1048576}")))
                .hasValue("CPU 2.5 s user / 0 ms sys, peak 1.0 GiB");
        assertThat(AttemptCost.cpu(42_400L)).isEqualTo("42 s");
        assertThat(AttemptCost.cpu(185_000L)).isEqualTo("3m 05s");
        assertThat(AttemptCost.cpu(7_620_000L)).isEqualTo("2h 07m");
        assertThat(AttemptCost.memory(900)).isEqualTo("900 KiB");
        assertThat(AttemptCost.memory(512 * 1024)).isEqualTo("512 MiB");
    }

    @Test
    void whatIsUnknownIsLeftOutNeverShownAsZero() {
        assertThat(AttemptCost.describe(attempt("{\"cpuUserMs\": null, \"cpuSystemMs\": null, \"maxRssKb\": null}"))).isEmpty();
        assertThat(AttemptCost.describe(attempt("{\"outcome\": \"OK\"}"))).isEmpty();
        assertThat(AttemptCost.describe(attempt("{\"cpuUserMs\": null, \"cpuSystemMs\": null, \"maxRssKb\": 300}")))
                .hasValue("peak 300 KiB");
        assertThat(AttemptCost.describe(attempt("{\"cpuUserMs\": 7, \"cpuSystemMs\": null, \"maxRssKb\": null}")))
                .hasValue("CPU 7 ms user / ? sys");
    }
}
