/**
 * Reserved for {@code @Beta} extension points (VMM drivers, kernel providers). Empty in this
 * milestone: the QEMU driver is internal until its interface has settled.
 */
package io.micropod.spi;
