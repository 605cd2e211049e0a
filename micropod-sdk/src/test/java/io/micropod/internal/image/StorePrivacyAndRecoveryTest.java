package io.micropod.internal.image;

import static org.assertj.core.api.Assertions.assertThat;

import io.micropod.internal.files.PrivateDirs;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The store is private to the user and recovers from what a killed JVM left behind. */
@Timeout(30)
class StorePrivacyAndRecoveryTest {
  @TempDir Path tmp;

  private static String mode(Path p) throws Exception {
    return PosixFilePermissions.toString(Files.getPosixFilePermissions(p));
  }

  @Test
  void homeStoreBlobsAndRootfsAreCreated0700() throws Exception {
    Path home = tmp.resolve("home").resolve("micropod");

    new BlobStore(home).open();
    new RootfsStore(home, false).open();

    for (Path p : new Path[] {home, home.resolve("store"), home.resolve("store/blobs"),
        home.resolve("store/blobs/sha256"), home.resolve("store/rootfs"), home.resolve("store/locks")}) {
      assertThat(mode(p)).as(p.toString()).isEqualTo("rwx------");
    }
  }

  @Test
  void existingWiderStoreDirectoriesAreTightened() throws Exception {
    Path home = tmp.resolve("home");
    Path blobs = Files.createDirectories(home.resolve("store/blobs/sha256"));
    for (Path p : new Path[] {home, home.resolve("store"), home.resolve("store/blobs"), blobs}) {
      Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
    }

    new BlobStore(home).open();

    assertThat(mode(home)).isEqualTo("rwx------");
    assertThat(mode(home.resolve("store"))).isEqualTo("rwx------");
    assertThat(mode(blobs)).isEqualTo("rwx------");
  }

  @Test
  void theConfigDirIsCreated0700() throws Exception {
    Path config = tmp.resolve("config").resolve("micropod");

    PrivateDirs.ensure(config);

    assertThat(mode(config)).isEqualTo("rwx------");
  }

  @Test
  void leftoversOfAKilledJvmAreRemovedAndCompleteEntriesKept() throws Exception {
    Path home = tmp.resolve("home");
    String hex = "ab".repeat(32);
    Path blobs = Files.createDirectories(home.resolve("store/blobs/sha256"));
    Path rootfs = Files.createDirectories(home.resolve("store/rootfs"));
    // as BlobStore.put and RootfsStore.unpack name them
    Path put = Files.writeString(blobs.resolve(".put-123456.tmp"), "{\"half");
    Files.setLastModifiedTime(put, FileTime.fromMillis(System.currentTimeMillis() - BlobStore.STALE_PUT_MILLIS - 1000));
    Path freshPut = Files.writeString(blobs.resolve(".put-999.tmp"), "{\"being written");
    Path partial = Files.writeString(blobs.resolve(".partial-" + hex), "resumable");
    Path blob = Files.writeString(blobs.resolve(hex), "complete");
    Path unpack = Files.createDirectories(rootfs.resolve(".tmp-" + hex + "-1a2b3c").resolve("usr/bin"));
    Files.writeString(unpack.resolve("sh"), "half a layer");
    Path tree = Files.createDirectories(rootfs.resolve(hex).resolve("etc"));

    new BlobStore(home).open();
    int removed = new RootfsStore(home, false).open();

    assertThat(put).doesNotExist();
    assertThat(freshPut).exists(); // maybe another JVM writing it now
    assertThat(partial).exists(); // resumed by the next pull, verified before it becomes a blob
    assertThat(blob).hasContent("complete");
    assertThat(rootfs.resolve(".tmp-" + hex + "-1a2b3c")).doesNotExist();
    assertThat(removed).isEqualTo(1);
    assertThat(tree).isDirectory();
  }
}
