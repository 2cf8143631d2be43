//! Bahasa Indonesia: every word the page and the SVG show. Keys match `en.rs` exactly
//! (tested). Placeholders in braces are filled by the renderer.

pub(crate) const ENTRIES: &[(&str, &str)] = &[
    ("page.title", "Laporan gangguan layanan Dukcapil"),
    ("page.generated", "Dibuat {when}. Dicatat sejak {since}."),
    ("now.heading", "Keadaan saat laporan dibuat"),
    ("now.normal", "Layanan Dukcapil berjalan normal."),
    (
        "now.ongoing",
        "Gangguan {id} masih berlangsung sejak {since} ({duration}).",
    ),
    (
        "now.recovering",
        "Layanan Dukcapil sedang diuji apakah sudah pulih; gangguan {id} belum dinyatakan selesai (sejak {since}).",
    ),
    ("incidents.heading", "Gangguan yang tercatat"),
    ("incidents.none", "Tidak ada gangguan yang tercatat."),
    ("incident.name", "Gangguan {id}"),
    ("incident.badge.ended", "sudah pulih"),
    ("incident.badge.ongoing", "masih berlangsung"),
    (
        "incident.when.ended",
        "Mulai {start}, selesai {end} ({duration}).",
    ),
    (
        "incident.when.ongoing",
        "Mulai {start}, masih berlangsung ({duration} sampai laporan ini dibuat).",
    ),
    ("incident.what", "Yang gagal: {causes}."),
    ("incident.what.none", "Yang gagal: penyebab tidak tercatat."),
    ("incident.times", "{n} kali"),
    (
        "incident.people",
        "{offline} orang tetap dilayani dengan data cadangan (luring), {refused} orang terpaksa ditolak, dan {online} orang dilayani normal.",
    ),
    (
        "incident.recon",
        "Pemeriksaan ulang ke Dukcapil setelah pulih: {confirmed} hasil luring dibenarkan, {contradicted} dibantah, {unreconciled} belum diperiksa ulang.",
    ),
    (
        "incident.recon.none",
        "Tidak ada hasil luring yang perlu diperiksa ulang.",
    ),
    (
        "incident.short",
        "Gangguan {id}: {start} – {end} ({duration}). {cause}.",
    ),
    (
        "incident.short2",
        "{offline} orang dilayani luring, {refused} orang ditolak; pemeriksaan ulang: {confirmed} dibenarkan, {contradicted} dibantah.",
    ),
    ("incident.short.ongoing", "sekarang"),
    ("cause.unreachable", "server Dukcapil tidak dapat dihubungi"),
    (
        "cause.timeout",
        "server Dukcapil tidak menjawab dalam batas waktu",
    ),
    ("cause.quota", "server Dukcapil menolak karena kuota"),
    ("cause.server_error", "server Dukcapil mengalami kesalahan"),
    (
        "cause.bad_answer",
        "jawaban server Dukcapil tidak dapat dibaca",
    ),
    ("cause.secure", "sambungan aman ke server Dukcapil gagal"),
    ("cause.unknown", "penyebab tidak tercatat"),
    ("field.offline", "dilayani luring"),
    ("field.refused", "ditolak"),
    ("field.online", "dilayani normal"),
    ("field.confirmed", "dibenarkan"),
    ("field.contradicted", "dibantah"),
    ("field.unreconciled", "belum diperiksa ulang"),
    ("field.duration", "lama gangguan"),
    ("chart.heading", "Linimasa"),
    (
        "chart.title",
        "Gangguan layanan Dukcapil: {n} gangguan tercatat",
    ),
    (
        "chart.more",
        "… dan {n} gangguan lain (lihat laporan lengkap).",
    ),
    ("chart.phase", "Sambungan"),
    ("chart.people", "Orang yang diperiksa per {bin}"),
    (
        "chart.share",
        "Bagian orang yang ditolak dan yang dilayani luring (%)",
    ),
    ("chart.time", "Waktu ({zone}), {date}"),
    (
        "chart.caption",
        "Pita atas: keadaan sambungan ke Dukcapil. Tengah: jumlah orang per selang waktu. Bawah: persentase orang yang ditolak dan yang dilayani luring. Kotak oranye: masa gangguan.",
    ),
    ("chart.nodata", "Belum ada data untuk digambar."),
    (
        "chart.summarised",
        "{n} gangguan lebih lama diringkas dan tidak digambar.",
    ),
    ("legend.online", "dilayani normal"),
    ("legend.offline", "dilayani luring"),
    ("legend.refused", "ditolak"),
    ("legend.share_refused", "% ditolak"),
    ("legend.share_offline", "% dilayani luring"),
    ("legend.incident", "masa gangguan"),
    ("phase.closed", "normal"),
    (
        "phase.open",
        "dihentikan sementara agar server tidak dibebani",
    ),
    ("phase.half_open", "menguji pemulihan"),
    ("phase.forced_open", "dihentikan petugas"),
    ("phase.disabled", "tanpa pengaman"),
    ("bin.seconds", "{n} detik"),
    ("bin.minutes", "{n} menit"),
    ("totals.heading", "Ringkasan sejak pencatatan dimulai"),
    (
        "totals.text",
        "{incidents} gangguan, total {duration}. Orang yang diperiksa: {online} dilayani normal, {offline} dilayani luring, {refused} ditolak.",
    ),
    (
        "totals.summarised",
        "{n} gangguan lebih lama ({from} – {to}) diringkas: {offline} dilayani luring, {refused} ditolak, {confirmed} dibenarkan, {contradicted} dibantah.",
    ),
    ("glossary.heading", "Arti istilah"),
    (
        "glossary.offline",
        "Dilayani luring: Dukcapil tidak dapat menjawab, tetapi orang tersebut membawa bukti resmi bertanda tangan digital dari Dukcapil; bukti itu diperiksa dan hasilnya dicocokkan ulang dengan Dukcapil secara otomatis setelah pulih.",
    ),
    (
        "glossary.refused",
        "Ditolak: Dukcapil tidak dapat menjawab dan tidak ada bukti cadangan, sehingga pemeriksaan tidak dapat dilakukan. Ini bukan kesalahan data orang tersebut.",
    ),
    (
        "glossary.recon",
        "Dibenarkan / dibantah: hasil pemeriksaan ulang ke Dukcapil atas jawaban luring.",
    ),
    (
        "glossary.pause",
        "Dihentikan sementara: selama gangguan, permintaan tidak dikirim ke Dukcapil agar server yang sedang bermasalah tidak makin terbebani; sesekali dikirim satu permintaan uji untuk melihat apakah sudah pulih.",
    ),
    (
        "footer",
        "Laporan ini dibuat oleh Andal dari catatan gangguan yang tersimpan; tidak memuat data pribadi.",
    ),
];
