package io.micropod;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * Where a pod may connect to: allow and deny rules by CIDR ({@code 192.0.2.0/24},
 * {@code 2001:db8::/32}, a single address) and by DNS name ({@code example.org}, or
 * {@code *.example.org} for every name below it), and a default for what no rule matches.
 * Enforced by QEMU's network guard in the NAT, for the pod's outbound TCP and UDP; see
 * docs/networking.md#egress-rules. Immutable and thread-safe.
 *
 * <pre>{@code
 * MicroPod.builder().image("oci:/images/busybox")
 *     .egress(EgressPolicy.builder().defaultAction(EgressPolicy.Action.DENY)
 *         .allow("198.51.100.0/24", "*.example.org").build())
 * }</pre>
 *
 * <p>How a destination is decided: the host's own services stay refused whatever the rules say
 * (the NAT's host protection always wins; ports given to {@code exposeHostPorts} and the host's
 * resolvers stay reachable). Then the most specific matching CIDR rule decides (the longest
 * prefix; on a tie, deny); an address that a DNS answer gave for an allowed name counts as an
 * allow rule for that one host, as long as the name stays allowed; no rule matches: the default.
 * DNS queries for a name are checked the same way: an exact name rule before the longest
 * matching wildcard (deny on a tie), else the default; a denied name is never sent to the
 * resolver. A denied connection is refused at once (the guest sees a reset, never a time-out).
 */
public final class EgressPolicy {
  /** What a rule or the default does. */
  public enum Action {
    /** The destination may be reached. */
    ALLOW,
    /** The destination is refused. */
    DENY
  }

  private static final EgressPolicy ALLOW_ALL = new EgressPolicy(Action.ALLOW, List.of(), List.of());
  private static final Pattern IPV4 = Pattern.compile("\\d{1,3}(\\.\\d{1,3}){3}");
  private static final Pattern IPV6 = Pattern.compile("[0-9a-fA-F:][0-9a-fA-F:.]*:[0-9a-fA-F:.]*");
  private static final Pattern LABEL = Pattern.compile("[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?");

  private final Action defaultAction;
  private final List<String> allowed;
  private final List<String> denied;

  private EgressPolicy(Action defaultAction, List<String> allowed, List<String> denied) {
    this.defaultAction = defaultAction;
    this.allowed = List.copyOf(allowed);
    this.denied = List.copyOf(denied);
  }

  /** {@return no rules and default allow: every destination but the host's own services; the default} */
  public static EgressPolicy allowAll() {
    return ALLOW_ALL;
  }

  /** {@return a builder with no rules and default {@link Action#ALLOW}} */
  public static Builder builder() {
    return new Builder();
  }

  /** {@return a builder holding this policy's rules and default} */
  public Builder newBuilder() {
    Builder b = new Builder();
    b.defaultAction = defaultAction;
    b.allowed.addAll(allowed);
    b.denied.addAll(denied);
    return b;
  }

  /** {@return what happens to a destination no rule matches} */
  public Action defaultAction() {
    return defaultAction;
  }

  /**
   * {@return the allow rules, normalized (a CIDR's address in its canonical form with its prefix,
   * {@code /32} or {@code /128} for a single address; names in lower case without a trailing dot),
   * in the order given, without repeats}
   */
  public List<String> allowed() {
    return allowed;
  }

  /** {@return the deny rules, normalized as {@link #allowed()}} */
  public List<String> denied() {
    return denied;
  }

  /** {@return true when this policy lets every destination through (no rule, default allow)} */
  public boolean isAllowAll() {
    return defaultAction == Action.ALLOW && allowed.isEmpty() && denied.isEmpty();
  }

  /**
   * Normalizes one rule, as the builder does: a CIDR ({@code 192.0.2.0/24}, {@code 2001:db8::/32};
   * an address alone means that host) or a DNS name ({@code example.org}, {@code *.example.org}).
   *
   * @param rule the rule
   * @return the rule as {@link #allowed()} lists it
   * @throws IllegalArgumentException naming the rule when it is neither, when a CIDR's prefix is
   *     out of range or has host bits set, or when a name is malformed
   */
  public static String normalize(String rule) {
    Objects.requireNonNull(rule, "egress rule");
    String r = rule.trim();
    if (r.isEmpty()) {
      throw new IllegalArgumentException("egress rule is empty: give a CIDR (192.0.2.0/24) or a DNS name"
          + " (example.org, *.example.org)");
    }
    if (r.indexOf(':') >= 0 || r.indexOf('/') >= 0 || IPV4.matcher(r).matches()) {
      return cidr(rule, r);
    }
    return name(rule, r);
  }

  private static String cidr(String rule, String r) {
    String[] parts = r.split("/", -1);
    if (parts.length > 2) {
      throw new IllegalArgumentException("egress rule '" + rule + "' is not a CIDR: more than one '/'");
    }
    byte[] address = parts[0].indexOf(':') < 0 ? ipv4(parts[0]) : ipv6(parts[0]);
    if (address == null) {
      throw new IllegalArgumentException("egress rule '" + rule + "' is not a CIDR: '" + parts[0]
          + "' is not an IPv4 or IPv6 address");
    }
    int max = address.length * 8;
    int prefix = max;
    if (parts.length == 2) {
      try {
        prefix = Integer.parseInt(parts[1]);
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("egress rule '" + rule + "': the prefix length '" + parts[1]
            + "' is not a number");
      }
      if (prefix < 0 || prefix > max || parts[1].startsWith("+")) {
        throw new IllegalArgumentException("egress rule '" + rule + "': the prefix length must be 0-" + max
            + ", was " + parts[1]);
      }
    }
    byte[] network = address.clone();
    for (int bit = prefix; bit < max; bit++) {
      network[bit / 8] &= (byte) ~(0x80 >>> (bit % 8));
    }
    String canonical;
    try {
      canonical = InetAddress.getByAddress(network).getHostAddress();
    } catch (UnknownHostException e) {
      throw new IllegalStateException(e);
    }
    if (!java.util.Arrays.equals(network, address)) {
      throw new IllegalArgumentException("egress rule '" + rule + "' has host bits set: did you mean "
          + canonical + "/" + prefix + "?");
    }
    return canonical + "/" + prefix;
  }

  /** Four decimal octets, each 0-255, or null. Parsed here: a resolver never sees a rule. */
  private static byte[] ipv4(String text) {
    if (!IPV4.matcher(text).matches()) {
      return null;
    }
    String[] octets = text.split("\\.");
    byte[] b = new byte[4];
    for (int i = 0; i < 4; i++) {
      int v = Integer.parseInt(octets[i]);
      if (v > 255 || (octets[i].length() > 1 && octets[i].startsWith("0"))) {
        return null; // 256, or a leading zero that some tools read as octal
      }
      b[i] = (byte) v;
    }
    return b;
  }

  /** An IPv6 literal, or null; an IPv4-mapped one as its IPv4 address. */
  private static byte[] ipv6(String text) {
    if (!IPV6.matcher(text).matches()) {
      return null;
    }
    try {
      // a literal that starts with a hex digit or ':' and holds ':' is parsed, never looked up
      return InetAddress.getByName(text).getAddress();
    } catch (UnknownHostException e) {
      return null;
    }
  }

  private static String name(String rule, String r) {
    String n = r.toLowerCase(Locale.ROOT);
    if (n.endsWith(".")) {
      n = n.substring(0, n.length() - 1);
    }
    boolean wildcard = n.startsWith("*.");
    String rest = wildcard ? n.substring(2) : n;
    String what = "egress rule '" + rule + "' is neither a CIDR (192.0.2.0/24, 2001:db8::/32) nor a DNS name"
        + " (example.org, *.example.org): ";
    if (rest.isEmpty() || rest.length() > 253) {
      throw new IllegalArgumentException(what + "a name has 1 to 253 characters");
    }
    String[] labels = rest.split("\\.", -1);
    for (String label : labels) {
      if (!LABEL.matcher(label).matches()) {
        throw new IllegalArgumentException(what + (label.contains("*")
            ? "'*' may only stand first, as in *.example.org"
            : "'" + label + "' is not a DNS label (letters, digits, '-', '_'; 1 to 63 characters)"));
      }
    }
    if (labels[labels.length - 1].chars().allMatch(Character::isDigit)) {
      throw new IllegalArgumentException(what + "it ends in a number (an address needs four parts, as 192.0.2.1)");
    }
    return wildcard ? "*." + rest : rest;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof EgressPolicy p && defaultAction == p.defaultAction && allowed.equals(p.allowed)
        && denied.equals(p.denied);
  }

  @Override
  public int hashCode() {
    return Objects.hash(defaultAction, allowed, denied);
  }

  /** {@return e.g. {@code EgressPolicy[default=DENY, allow=[198.51.100.0/24, *.example.org], deny=[]]}} */
  @Override
  public String toString() {
    return "EgressPolicy[default=" + defaultAction + ", allow=" + allowed + ", deny=" + denied + "]";
  }

  /** Builds an {@link EgressPolicy}. Not thread-safe. */
  public static final class Builder {
    private Action defaultAction = Action.ALLOW;
    private final java.util.LinkedHashSet<String> allowed = new java.util.LinkedHashSet<>();
    private final java.util.LinkedHashSet<String> denied = new java.util.LinkedHashSet<>();

    private Builder() {}

    /**
     * Allows destinations; repeatable, rules add up.
     *
     * @param rules CIDRs ({@code 192.0.2.0/24}, {@code 2001:db8::/32}, {@code 192.0.2.7}) or DNS names
     *     ({@code example.org}, {@code *.example.org})
     * @return this builder
     * @throws IllegalArgumentException naming the first malformed rule (see {@link EgressPolicy#normalize})
     */
    public Builder allow(String... rules) {
      return add(allowed, rules);
    }

    /**
     * Denies destinations; repeatable, rules add up. A rule both allowed and denied is denied.
     *
     * @param rules as {@link #allow}
     * @return this builder
     * @throws IllegalArgumentException naming the first malformed rule
     */
    public Builder deny(String... rules) {
      return add(denied, rules);
    }

    /**
     * What happens to destinations no rule matches; default {@link Action#ALLOW}. With
     * {@link Action#DENY} only what {@link #allow} names is reached (deny-all-but).
     *
     * @param action the default
     * @return this builder
     */
    public Builder defaultAction(Action action) {
      this.defaultAction = Objects.requireNonNull(action, "defaultAction");
      return this;
    }

    private Builder add(java.util.Set<String> to, String... rules) {
      Objects.requireNonNull(rules, "rules");
      List<String> normalized = new ArrayList<>();
      for (String r : rules) {
        normalized.add(normalize(r));
      }
      to.addAll(normalized);
      return this;
    }

    /** {@return the policy} */
    public EgressPolicy build() {
      if (defaultAction == Action.ALLOW && allowed.isEmpty() && denied.isEmpty()) {
        return ALLOW_ALL;
      }
      return new EgressPolicy(defaultAction, new ArrayList<>(allowed), new ArrayList<>(denied));
    }
  }
}
