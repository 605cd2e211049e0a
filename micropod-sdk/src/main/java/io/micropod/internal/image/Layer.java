package io.micropod.internal.image;

import java.nio.file.Path;

/** One layer of a manifest: its descriptor and the blob file that holds it. */
public record Layer(String digest, String mediaType, long size, Path blob) {}
