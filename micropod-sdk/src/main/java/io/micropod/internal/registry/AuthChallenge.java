package io.micropod.internal.registry;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * One challenge of a {@code WWW-Authenticate} header (RFC 7235): a scheme such as
 * {@code Bearer} or {@code Basic} and its parameters, e.g. Docker Hub's
 * {@code Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull"}.
 * Scheme and parameter names are case-insensitive (kept lowercase here); values keep their case.
 */
public record AuthChallenge(String scheme, Map<String, String> params) {

  public AuthChallenge {
    scheme = scheme.toLowerCase(Locale.ROOT);
    params = Collections.unmodifiableMap(new LinkedHashMap<>(params));
  }

  public String param(String name) {
    return params.get(name.toLowerCase(Locale.ROOT));
  }

  /** Parses every challenge of one or more header values; unparseable text ends parsing. */
  public static List<AuthChallenge> parse(List<String> headerValues) {
    List<AuthChallenge> out = new ArrayList<>();
    for (String h : headerValues) {
      parseInto(h, out);
    }
    return out;
  }

  public static List<AuthChallenge> parse(String headerValue) {
    return parse(List.of(headerValue));
  }

  private static void parseInto(String s, List<AuthChallenge> out) {
    int[] pos = {0};
    String scheme = null;
    Map<String, String> params = new LinkedHashMap<>();
    while (true) {
      skip(s, pos, " \t,");
      if (pos[0] >= s.length()) {
        break;
      }
      String token = token(s, pos);
      if (token.isEmpty()) {
        break; // garbage: stop
      }
      int save = pos[0];
      skip(s, pos, " \t");
      if (pos[0] < s.length() && s.charAt(pos[0]) == '=' && scheme != null) {
        // could be token68 padding ("abc==") when followed by nothing sensible; treat as param
        pos[0]++;
        skip(s, pos, " \t");
        String value;
        if (pos[0] < s.length() && s.charAt(pos[0]) == '"') {
          value = quoted(s, pos);
        } else {
          value = token(s, pos);
        }
        params.put(token.toLowerCase(Locale.ROOT), value);
      } else {
        pos[0] = save;
        if (scheme != null) {
          out.add(new AuthChallenge(scheme, params));
          params = new LinkedHashMap<>();
        }
        scheme = token;
      }
    }
    if (scheme != null) {
      out.add(new AuthChallenge(scheme, params));
    }
  }

  private static void skip(String s, int[] pos, String chars) {
    while (pos[0] < s.length() && chars.indexOf(s.charAt(pos[0])) >= 0) {
      pos[0]++;
    }
  }

  private static String token(String s, int[] pos) {
    int start = pos[0];
    while (pos[0] < s.length()) {
      char c = s.charAt(pos[0]);
      if (c == ' ' || c == '\t' || c == ',' || c == '=' || c == '"') {
        break;
      }
      pos[0]++;
    }
    return s.substring(start, pos[0]);
  }

  private static String quoted(String s, int[] pos) {
    StringBuilder sb = new StringBuilder();
    pos[0]++; // opening quote
    while (pos[0] < s.length()) {
      char c = s.charAt(pos[0]++);
      if (c == '\\' && pos[0] < s.length()) {
        sb.append(s.charAt(pos[0]++));
      } else if (c == '"') {
        break;
      } else {
        sb.append(c);
      }
    }
    return sb.toString();
  }
}
