/*
 * garp IFACE ADDRESS: sends one gratuitous ARP request on IFACE claiming that ADDRESS is at
 * IFACE's MAC, as a hostile container with CAP_NET_RAW (Docker's default set) can. busybox
 * arping refuses a source address the interface does not have, so NetworkIT needs this.
 */
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: garp IFACE ADDRESS\n");
    return 2;
  }
  struct in_addr claimed;
  if (inet_pton(AF_INET, argv[2], &claimed) != 1) {
    fprintf(stderr, "garp: not an IPv4 address: %s\n", argv[2]);
    return 2;
  }
  int fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ARP));
  if (fd < 0) {
    perror("garp: socket");
    return 1;
  }
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  strncpy(ifr.ifr_name, argv[1], IFNAMSIZ - 1);
  if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0) {
    perror("garp: SIOCGIFHWADDR");
    return 1;
  }
  unsigned char mac[6];
  memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
  unsigned char f[60];
  memset(f, 0, sizeof f);
  memset(f, 0xff, 6);
  memcpy(f + 6, mac, 6);
  f[12] = 0x08; f[13] = 0x06;              /* ARP */
  f[14] = 0; f[15] = 1;                    /* Ethernet */
  f[16] = 0x08; f[17] = 0x00;              /* IPv4 */
  f[18] = 6; f[19] = 4;
  f[20] = 0; f[21] = 1;                    /* request */
  memcpy(f + 22, mac, 6);
  memcpy(f + 28, &claimed, 4);             /* sender: the claimed address */
  memcpy(f + 38, &claimed, 4);             /* target: the same (gratuitous) */
  struct sockaddr_ll to;
  memset(&to, 0, sizeof to);
  to.sll_family = AF_PACKET;
  to.sll_protocol = htons(ETH_P_ARP);
  to.sll_ifindex = (int) if_nametoindex(argv[1]);
  to.sll_halen = 6;
  memset(to.sll_addr, 0xff, 6);
  if (sendto(fd, f, sizeof f, 0, (struct sockaddr *) &to, sizeof to) != (ssize_t) sizeof f) {
    perror("garp: sendto");
    return 1;
  }
  close(fd);
  return 0;
}
