# bench/report.awk — turns bench/run.sh's raw TSV into markdown tables.
# Input columns: workload config run wall_s user_s sys_s maxrss_kib minflt status instructions
# Variables: cfgs = the configurations, space-separated, in column order;
#            instr = 1 when the runs were under callgrind (only instructions are reported).
# Ratios are to the configuration named "mimalloc" (bare mimalloc), when present.
# Written for POSIX awk (Debian's default is mawk: no asort, no gensub).

function median(list, n,    v, i, j, t, k) {
    k = split(list, v, " ")
    for (i = 2; i <= k; i++) { # insertion sort, k is small
        t = v[i] + 0
        for (j = i - 1; j >= 1 && v[j] + 0 > t; j--) v[j + 1] = v[j]
        v[j + 1] = t
    }
    if (k == 0) return ""
    return k % 2 ? v[(k + 1) / 2] + 0 : (v[k / 2] + v[k / 2 + 1]) / 2
}
function minmax_spread(list,    v, i, k, lo, hi, m) {
    k = split(list, v, " ")
    if (k < 2) return ""
    lo = hi = v[1] + 0
    for (i = 2; i <= k; i++) { if (v[i] + 0 < lo) lo = v[i] + 0; if (v[i] + 0 > hi) hi = v[i] + 0 }
    m = median(list)
    return m > 0 ? (hi - lo) / m : ""
}
function pct(r) { return sprintf("%+.1f%%", (r - 1) * 100) }
function header(title, note,    c) {
    printf "\n### %s\n\n", title
    if (note != "") printf "%s\n\n", note
    printf "| workload |"
    for (c = 1; c <= nc; c++) printf " %s |", cfg[c]
    printf "\n|---|"
    for (c = 1; c <= nc; c++) printf "---:|"
    printf "\n"
}
# table of one metric: key = "wall", "cpu" or "rss"
function table(key, title, note, unit, fmt,    w, c, m, b, r, lr, cnt) {
    header(title, note)
    for (c = 1; c <= nc; c++) { lr[c] = 0; cnt[c] = 0 }
    for (w = 1; w <= nw; w++) {
        printf "| %s |", wl[w]
        for (c = 1; c <= nc; c++) {
            if ((wl[w], cfg[c]) in failed) { printf " FAIL |"; continue }
            if (!((wl[w], cfg[c]) in val)) { printf " – |"; continue }
            m = med[key, wl[w], cfg[c]]
            b = (base != "" && (wl[w], base) in val && !((wl[w], base) in failed)) ? med[key, wl[w], base] : 0
            if (b > 0 && m > 0) {
                r = m / b
                lr[c] += log(r); cnt[c]++
                printf " " fmt "%s (%.2f×) |", m, unit, r
            } else {
                printf " " fmt "%s |", m, unit
            }
        }
        printf "\n"
    }
    if (base != "") {
        printf "| **geomean vs %s** |", base
        for (c = 1; c <= nc; c++) printf " %s |", cnt[c] ? sprintf("%.3f×", exp(lr[c] / cnt[c])) : "–"
        printf "\n"
    }
}

NR == 1 { next }
{
    w = $1; c = $2
    if (!(w in wseen)) { wseen[w] = 1; wl[++nw] = w }
    val[w, c] = 1
    if ($9 != 0) { failed[w, c] = 1; next }
    wall[w, c] = wall[w, c] " " $4
    cpu[w, c] = cpu[w, c] " " ($5 + $6)
    rss[w, c] = rss[w, c] " " ($7 / 1024)
    flt[w, c] = flt[w, c] " " $8
    ir[w, c] = ir[w, c] " " $10
}
END {
    nc = split(cfgs, cfg, " ")
    base = ""
    for (c = 1; c <= nc; c++) if (cfg[c] == "mimalloc") base = "mimalloc"
    for (w = 1; w <= nw; w++) for (c = 1; c <= nc; c++) {
        k = wl[w] SUBSEP cfg[c]
        if (!(k in val) || (k in failed)) continue
        med["wall", wl[w], cfg[c]] = median(wall[k])
        med["cpu", wl[w], cfg[c]] = median(cpu[k])
        med["rss", wl[w], cfg[c]] = median(rss[k])
        med["flt", wl[w], cfg[c]] = median(flt[k])
        med["ir", wl[w], cfg[c]] = median(ir[k])
        spread[wl[w], cfg[c]] = minmax_spread(wall[k])
    }
    if (instr == 1) {
        table("ir", "Instructions executed (valgrind callgrind, whole process tree; ratio to bare mimalloc)",
              "", "", "%.0f")
        keys = "ir"
        summary()
        exit
    }
    keys = "wall cpu"
    table("wall", "Wall time: median seconds (ratio to bare mimalloc)", "", " s", "%.3f")
    table("cpu", "CPU time (user + system): median seconds (ratio to bare mimalloc)", "", " s", "%.3f")
    table("rss", "Peak RSS: median MiB (ratio to bare mimalloc)", "", "", "%.0f")
    table("flt", "Minor page faults: median (ratio to bare mimalloc)", "", "", "%.0f")

    header("Run-to-run spread of wall time: (max − min) / median", "")
    for (w = 1; w <= nw; w++) {
        printf "| %s |", wl[w]
        for (c = 1; c <= nc; c++) {
            s = ((wl[w], cfg[c]) in spread) ? spread[wl[w], cfg[c]] : ""
            printf " %s |", s == "" ? "–" : sprintf("%.1f%%", s * 100)
        }
        printf "\n"
    }

    summary()
}

# Summary for the profiler configurations against the two baselines.
function summary(    c, bi, b, found, d, nk, kk, mi, key, n, lsum, worst, worstw, over, w, r, name) {
    printf "\n### Summary\n\n"
    nk = split(keys, kk, " ")
    for (c = 1; c <= nc; c++) {
        if (cfg[c] !~ /^heapprof/) continue
        for (bi = 1; bi <= 2; bi++) {
            b = bi == 1 ? base : "glibc"
            if (b == "") continue
            found = 0
            for (d = 1; d <= nc; d++) if (cfg[d] == b) found = 1
            if (!found) continue
            for (mi = 1; mi <= nk; mi++) {
                key = kk[mi]
                n = 0; lsum = 0; worst = 0; worstw = ""; over = ""
                for (w = 1; w <= nw; w++) {
                    if (med[key, wl[w], cfg[c]] == "" || med[key, wl[w], b] == "") continue
                    if (med[key, wl[w], b] <= 0) continue
                    r = med[key, wl[w], cfg[c]] / med[key, wl[w], b]
                    n++; lsum += log(r)
                    if (worstw == "" || r > worst) { worst = r; worstw = wl[w] }
                    if (r > 1.05) over = over sprintf(" %s (%s)", wl[w], pct(r))
                }
                if (!n) continue
                name = key == "wall" ? "wall time" : key == "cpu" ? "CPU time" : "instructions"
                printf "- %s vs %s, %s: geomean %s, worst %s %s; over +5%%:%s\n",
                    cfg[c], b, name, pct(exp(lsum / n)), worstw, pct(worst), over == "" ? " none" : over
            }
        }
    }
    versus("heapprof-full", "heaptrack")
}

# How many times faster `fast` is than `slow` per workload, in total time
# and in time added over the baseline (overhead; "–" when `fast` adds none).
function versus(fast, slow,    c, have, nk, kk, mi, key, w, line, a, b0, z) {
    nk = split(keys, kk, " ")
    have = 0
    for (c = 1; c <= nc; c++) if (cfg[c] == fast || cfg[c] == slow) have++
    if (have < 2 || base == "") return
    for (mi = 1; mi <= nk; mi++) {
        key = kk[mi]
        line = ""
        for (w = 1; w <= nw; w++) {
            a = med[key, wl[w], fast]; z = med[key, wl[w], slow]; b0 = med[key, wl[w], base]
            if (a == "" || z == "" || b0 == "" || a <= 0) continue
            line = line sprintf(" %s %.2f× (overhead %s)", wl[w], z / a,
                                a > b0 ? sprintf("%.2f×", (z - b0) / (a - b0)) : "–")
        }
        if (line == "") continue
        printf "- %s faster than %s, %s (overhead = time above %s):%s\n", fast, slow,
            key == "wall" ? "wall time" : key == "cpu" ? "CPU time" : "instructions", base, line
    }
}
