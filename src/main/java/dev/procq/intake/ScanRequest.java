package dev.procq.intake;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.IOException;

/** The {@code "scan"} object of a submission: a root's name from PROCQ_SCAN_ROOTS and a glob relative to it. */
public record ScanRequest(String root, String glob) {

    /** Reads {"root": "...", "glob": "..."} from a parser standing on its START_OBJECT. */
    static ScanRequest read(JsonParser parser) throws IOException {
        if (parser.currentToken() != JsonToken.START_OBJECT) {
            throw IntakeException.badRequest("scan must be an object like {\"root\": \"photos\", \"glob\": \"**/*.jpg\"}");
        }
        String root = null;
        String glob = null;
        while (parser.nextToken() == JsonToken.FIELD_NAME) {
            String field = parser.currentName();
            JsonToken value = parser.nextToken();
            switch (field) {
                case "root" -> root = text(parser, value, "scan.root");
                case "glob" -> glob = text(parser, value, "scan.glob");
                default -> throw IntakeException.badRequest("unknown field 'scan." + field + "' (known: root, glob)");
            }
        }
        if (root == null) throw IntakeException.badRequest("scan.root is required: the name of a directory in PROCQ_SCAN_ROOTS");
        if (glob == null) throw IntakeException.badRequest("scan.glob is required, e.g. \"**/*.jpg\"");
        return new ScanRequest(root, glob);
    }

    private static String text(JsonParser parser, JsonToken value, String name) throws IOException {
        if (value != JsonToken.VALUE_STRING) throw IntakeException.badRequest(name + " must be a string");
        return parser.getText();
    }
}
