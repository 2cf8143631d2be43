//! English: every word the page and the SVG show. Keys match `id.rs` exactly (tested).

pub(crate) const ENTRIES: &[(&str, &str)] = &[
    ("page.title", "Population registry (Dukcapil) outage report"),
    ("page.generated", "Made {when}. Recording since {since}."),
    ("now.heading", "State when this report was made"),
    ("now.normal", "The Dukcapil service is working normally."),
    (
        "now.ongoing",
        "Outage {id} is still going on, since {since} ({duration}).",
    ),
    (
        "now.recovering",
        "The Dukcapil service is being tested for recovery; outage {id} is not over yet (since {since}).",
    ),
    ("incidents.heading", "Recorded outages"),
    ("incidents.none", "No outage recorded."),
    ("incident.name", "Outage {id}"),
    ("incident.badge.ended", "recovered"),
    ("incident.badge.ongoing", "still going on"),
    (
        "incident.when.ended",
        "Began {start}, ended {end} ({duration}).",
    ),
    (
        "incident.when.ongoing",
        "Began {start}, still going on ({duration} when this report was made).",
    ),
    ("incident.what", "What failed: {causes}."),
    ("incident.what.none", "What failed: no cause recorded."),
    ("incident.times", "{n} times"),
    (
        "incident.people",
        "{offline} people were still served with backup evidence (offline), {refused} people had to be turned away, and {online} people were served normally.",
    ),
    (
        "incident.recon",
        "Re-checked with Dukcapil after recovery: {confirmed} offline answers confirmed, {contradicted} contradicted, {unreconciled} not re-checked yet.",
    ),
    (
        "incident.recon.none",
        "No offline answer needed re-checking.",
    ),
    (
        "incident.short",
        "Outage {id}: {start} – {end} ({duration}). {cause}.",
    ),
    (
        "incident.short2",
        "{offline} people served offline, {refused} turned away; re-checked later: {confirmed} confirmed, {contradicted} contradicted.",
    ),
    ("incident.short.ongoing", "now"),
    (
        "cause.unreachable",
        "the Dukcapil server could not be reached",
    ),
    (
        "cause.timeout",
        "the Dukcapil server did not answer in time",
    ),
    (
        "cause.quota",
        "the Dukcapil server refused because of its quota",
    ),
    (
        "cause.server_error",
        "the Dukcapil server had an internal error",
    ),
    (
        "cause.bad_answer",
        "the Dukcapil server's answers could not be read",
    ),
    (
        "cause.secure",
        "the secure connection to the Dukcapil server failed",
    ),
    ("cause.unknown", "no cause recorded"),
    ("field.offline", "served offline"),
    ("field.refused", "turned away"),
    ("field.online", "served normally"),
    ("field.confirmed", "confirmed"),
    ("field.contradicted", "contradicted"),
    ("field.unreconciled", "not re-checked yet"),
    ("field.duration", "duration"),
    ("chart.heading", "Timeline"),
    ("chart.title", "Dukcapil service outages: {n} recorded"),
    (
        "chart.more",
        "… and {n} more outages (see the full report).",
    ),
    ("chart.phase", "Connection"),
    ("chart.people", "People checked per {bin}"),
    (
        "chart.share",
        "Share of people turned away and served offline (%)",
    ),
    ("chart.time", "Time ({zone}), {date}"),
    (
        "chart.caption",
        "Top band: state of the connection to Dukcapil. Middle: people checked per interval. Bottom: percentage of people turned away and served offline. Orange boxes: outages.",
    ),
    ("chart.nodata", "No data to draw yet."),
    (
        "chart.summarised",
        "{n} older outages are summarised and not drawn.",
    ),
    ("legend.online", "served normally"),
    ("legend.offline", "served offline"),
    ("legend.refused", "turned away"),
    ("legend.share_refused", "% turned away"),
    ("legend.share_offline", "% served offline"),
    ("legend.incident", "outage"),
    ("phase.closed", "normal"),
    ("phase.open", "paused so the server is not overloaded"),
    ("phase.half_open", "testing for recovery"),
    ("phase.forced_open", "stopped by staff"),
    ("phase.disabled", "no safeguard"),
    ("bin.seconds", "{n} seconds"),
    ("bin.minutes", "{n} minutes"),
    ("totals.heading", "Summary since recording began"),
    (
        "totals.text",
        "{incidents} outages, {duration} in total. People checked: {online} served normally, {offline} served offline, {refused} turned away.",
    ),
    (
        "totals.summarised",
        "{n} older outages ({from} – {to}) summarised: {offline} served offline, {refused} turned away, {confirmed} confirmed, {contradicted} contradicted.",
    ),
    ("glossary.heading", "What the words mean"),
    (
        "glossary.offline",
        "Served offline: Dukcapil could not answer, but the person held official evidence digitally signed by Dukcapil; it was checked, and the answer is re-checked with Dukcapil automatically after recovery.",
    ),
    (
        "glossary.refused",
        "Turned away: Dukcapil could not answer and there was no backup evidence, so the check could not be made. This is not a problem with the person's details.",
    ),
    (
        "glossary.recon",
        "Confirmed / contradicted: what the later re-check with Dukcapil said about an offline answer.",
    ),
    (
        "glossary.pause",
        "Paused: during an outage, requests are not sent to Dukcapil so that a struggling server is not loaded further; now and then one test request is sent to see whether it has recovered.",
    ),
    (
        "footer",
        "Made by Andal from the stored outage record; it holds no personal data.",
    ),
];
