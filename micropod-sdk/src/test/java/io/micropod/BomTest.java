package io.micropod;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.w3c.dom.Document;
import org.w3c.dom.Element;

/**
 * The BOM users import pins gRPC and protobuf to the versions this build compiles and tests the
 * SDK with. The BOM has no parent (it must not carry the build's other pins into users'
 * projects), so the two versions are written twice; this test keeps them equal.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class BomTest {
  /** Surefire runs in the module directory. */
  static final Path PARENT_POM = Path.of("..", "pom.xml");
  static final Path BOM_POM = Path.of("..", "micropod-bom", "pom.xml");

  @Test
  void bomPinsTheGrpcAndProtobufVersionsTheSdkIsBuiltWith() throws Exception {
    Document parent = parse(PARENT_POM);
    Document bom = parse(BOM_POM);
    for (String property : new String[] {"grpc.version", "protobuf.version"}) {
      assertThat(property(bom, property)).as("micropod-bom's %s", property)
          .isNotBlank()
          .isEqualTo(property(parent, property));
    }
    assertThat(importedBoms(bom)).contains(
        "io.grpc:grpc-bom:${grpc.version}", "com.google.protobuf:protobuf-bom:${protobuf.version}");
  }

  private static Document parse(Path pom) throws Exception {
    return DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(pom.toFile());
  }

  /** The property's value, "" when the pom has no such property. */
  private static String property(Document pom, String name) {
    Element properties = (Element) pom.getDocumentElement().getElementsByTagName("properties").item(0);
    return properties == null ? "" : text(properties, name);
  }

  private static List<String> importedBoms(Document pom) {
    List<String> found = new ArrayList<>();
    var dependencies = pom.getDocumentElement().getElementsByTagName("dependency");
    for (int i = 0; i < dependencies.getLength(); i++) {
      Element d = (Element) dependencies.item(i);
      if (text(d, "scope").equals("import")) {
        found.add(text(d, "groupId") + ":" + text(d, "artifactId") + ":" + text(d, "version"));
      }
    }
    return found;
  }

  private static String text(Element parent, String tag) {
    var nodes = parent.getElementsByTagName(tag);
    return nodes.getLength() == 0 ? "" : nodes.item(0).getTextContent().trim();
  }
}
