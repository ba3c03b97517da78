package ferry.agent;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.json.JsonMapper;

/**
 * The one JSON dialect of Ferry's HTTP API and of the CLI's {@code --json}: keys in snake_case.
 * Records serialized with this mapper get their component names converted ({@code bytesPerSecond}
 * becomes {@code bytes_per_second}), so a new field cannot slip out in another spelling; a
 * component with an explicit {@code @JsonProperty} name keeps that name.
 */
public final class ApiJson {
    public static final ObjectMapper MAPPER = JsonMapper.builder()
            .propertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            .build();

    private ApiJson() {}
}
