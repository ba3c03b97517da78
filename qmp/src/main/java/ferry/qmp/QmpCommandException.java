package ferry.qmp;

import com.fasterxml.jackson.databind.JsonNode;

/** QEMU answered a command with an error: its QMP error class and description, and what was sent. */
public final class QmpCommandException extends QmpException {
    private final String errorClass;
    private final String description;
    private final String command;
    private final JsonNode arguments;

    public QmpCommandException(String peer, String command, JsonNode arguments, String errorClass, String description) {
        super(peer + ": '" + command + "' failed: " + description + " (" + errorClass + ")");
        this.errorClass = errorClass;
        this.description = description;
        this.command = command;
        this.arguments = arguments;
    }

    /** QMP's error class, e.g. {@code GenericError}, {@code CommandNotFound}, {@code DeviceNotActive}. */
    public String errorClass() {
        return errorClass;
    }

    public String description() {
        return description;
    }

    public String command() {
        return command;
    }

    /** The arguments that were sent, or null. */
    public JsonNode arguments() {
        return arguments;
    }
}
