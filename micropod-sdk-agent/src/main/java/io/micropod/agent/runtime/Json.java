package io.micropod.agent.runtime;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.Iterator;
import java.util.Map;

/**
 * JSON for the agent with Jackson's streaming API only: trees are built with
 * {@code JsonNodeFactory} and written here, runc's log is read with a parser. No
 * {@code ObjectMapper}: its construction and serializer machinery cost a few hundred
 * milliseconds on first use natively, several times that interpreted under TCG, on the path of
 * the first container start.
 */
final class Json {
  private Json() {}

  static JsonFactory factory() {
    return Holder.FACTORY;
  }

  private static final class Holder {
    static final JsonFactory FACTORY = new JsonFactory();
  }

  /** {@code tree} as pretty-printed UTF-8 JSON. */
  static byte[] toBytes(JsonNode tree) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(4096);
    try (JsonGenerator g = factory().createGenerator(out)) {
      g.useDefaultPrettyPrinter();
      write(tree, g);
    } catch (IOException e) {
      throw new IllegalStateException("cannot write JSON", e);
    }
    return out.toByteArray();
  }

  private static void write(JsonNode node, JsonGenerator g) throws IOException {
    switch (node.getNodeType()) {
      case OBJECT:
        g.writeStartObject();
        Iterator<Map.Entry<String, JsonNode>> fields = node.properties().iterator();
        while (fields.hasNext()) {
          Map.Entry<String, JsonNode> field = fields.next();
          g.writeFieldName(field.getKey());
          write(field.getValue(), g);
        }
        g.writeEndObject();
        break;
      case ARRAY:
        g.writeStartArray();
        for (JsonNode element : node) {
          write(element, g);
        }
        g.writeEndArray();
        break;
      case STRING:
        g.writeString(node.textValue());
        break;
      case NUMBER:
        if (node.isIntegralNumber()) {
          g.writeNumber(node.longValue());
        } else {
          g.writeNumber(node.doubleValue());
        }
        break;
      case BOOLEAN:
        g.writeBoolean(node.booleanValue());
        break;
      case NULL:
        g.writeNull();
        break;
      default:
        throw new IllegalArgumentException("unsupported JSON node " + node.getNodeType());
    }
  }
}
