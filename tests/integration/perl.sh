#!/usr/bin/env bash
# perl under `heapprof run`: hashes, regexes, sort and string building give the
# same stdout, stderr and exit status as a plain run.
source "$(dirname "$0")/lib/common.bash"
hp_need perl

cat >"$HP_TMP/work.pl" <<'PL'
use strict; use warnings;
my (%count, %pos, @lines);
for my $i (0 .. 40000) {
    my $w = sprintf("%s%04x", ("alpha", "beta", "gamma", "delta")[$i % 4], ($i * 7919) % 4099);
    $count{$w}++;
    push @{ $pos{substr($w, 0, 3)} }, $i if $i % 97 == 0;
    push @lines, "$i:$w:" . ($i * $i % 1000) if $i % 3 == 0;
}
my @top = (sort { $count{$b} <=> $count{$a} || $a cmp $b } keys %count)[0 .. 9];
print "distinct ", scalar(keys %count), "\n";
print "top $_ $count{$_}\n" for @top;
print "pos $_ ", scalar(@{ $pos{$_} }), " first $pos{$_}[0] last $pos{$_}[-1]\n" for sort keys %pos;
my ($matches, %bydigit) = (0);
for (@lines) {
    if (/^(\d+):(gamma|delta)([0-9a-f]{4}):(\d*[169])$/) { $matches++; $bydigit{substr($3, -1)} += $4 }
}
print "matches $matches\n";
print join(",", map { "$_=$bydigit{$_}" } sort keys %bydigit), "\n";
my $s = "";
$s .= join("|", reverse split /:/, $_) . ";" for @lines[0 .. 2000];
(my $t = $s) =~ s/(beta|alpha)([0-9a-f]+)/\U$1\E<$2>/g;
my $n = () = $t =~ /ALPHA/g;
print "len ", length($s), " ", length($t), " alpha $n\n";
print "sorted ", join(" ", (sort { $a <=> $b } map { ($_ * 7) % 101 } 1 .. 30)[0 .. 9]), "\n";
print STDERR "warn: ", scalar(@lines), " lines\n";
exit 4;
PL

workload() {
    hp_run perl "$HP_TMP/work.pl" || true
    hp_run perl -e 'my %h = map { $_ => length } qw(a bb ccc); print join(",", map {"$_$h{$_}"} sort keys %h), "\n"; die "dying\n"' || true
}
hp_compare perl workload
grep -q '^matches ' "$HP_TMP/perl.plain.out" || hp_fail "workload did not run as expected"
hp_check_stats "$HP_PROF" "perl $HP_TMP/work.pl" >/dev/null
echo "perl: ok"
