# Hash- and string-heavy Perl workload for bench/run.sh.
# usage: perl hashes.pl SCALE   (1.0 is about 1-2 s). Deterministic.
use strict;
use warnings;

my $scale = @ARGV ? $ARGV[0] : 1.0;
my $seed = 12345;
sub rnd { $seed = ($seed * 1103515245 + 12345) % 2147483648; return $seed % $_[0]; }
my @syll = qw(ka lo mi ne su ta vo re zi pa qu ex);
my @vocab = map { join '', map { $syll[rnd(12)] } 1 .. 1 + rnd(4) } 1 .. 5000;

my $total = 0;
for my $round (1 .. int(10 * $scale) || 1) {
    my (%index, %count, @lines);
    for my $d (1 .. 1500) {
        my $doc = join ' ', map { $vocab[rnd(5000)] } 1 .. 20 + rnd(180);
        push @lines, "$round-$d:$doc";
        for my $w (split / /, $doc) {
            $count{$w}++;
            push @{ $index{$w} }, $d;
        }
    }
    my @top = (sort { $count{$b} <=> $count{$a} || $a cmp $b } keys %count)[0 .. 99];
    my %rev;
    for my $line (@lines) {
        my ($id, $doc) = split /:/, $line, 2;
        (my $up = $doc) =~ s/(\w+)/\u$1/g;
        $rev{$id} = join ',', reverse split / /, $up;
    }
    my $joined = join "\n", map { "$_=$rev{$_}" } sort keys %rev;
    $total += length($joined) + scalar(@top) + scalar(keys %index);
}
print "$total\n";
