package dev.procq.intake;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.IOException;

/**
 * The {@code "file"} object of a submission: a file of targets, one per line, named by a root of
 * PROCQ_SCAN_ROOTS and a path relative to it; read where the batch is recorded (the API, or the
 * process whose scheduler submits a schedule's tick).
 */
public record FileRequest(String root, String path) {

    /** Reads {"root": "...", "path": "..."} from a parser standing on its START_OBJECT. */
    static FileRequest read(JsonParser parser) throws IOException {
        if (parser.currentToken() != JsonToken.START_OBJECT) {
            throw IntakeException.badRequest("file must be an object like {\"root\": \"lists\", \"path\": \"endpoints.txt\"}");
        }
        String root = null;
        String path = null;
        while (parser.nextToken() == JsonToken.FIELD_NAME) {
            String field = parser.currentName();
            JsonToken value = parser.nextToken();
            if (value != JsonToken.VALUE_STRING && (field.equals("root") || field.equals("path"))) {
                throw IntakeException.badRequest("file." + field + " must be a string");
            }
            switch (field) {
                case "root" -> root = parser.getText();
                case "path" -> path = parser.getText();
                default -> throw IntakeException.badRequest("unknown field 'file." + field + "' (known: root, path)");
            }
        }
        if (root == null) throw IntakeException.badRequest("file.root is required: the name of a directory in PROCQ_SCAN_ROOTS");
        if (path == null) throw IntakeException.badRequest("file.path is required: a file below that root, e.g. \"endpoints.txt\"");
        return new FileRequest(root, path);
    }
}
