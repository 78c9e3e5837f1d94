//! Intake: a ticket from its source (operator, import, demo) to the `NewTicket` the store takes.

use chrono::NaiveDateTime;
use hotline_classifier::{Analysis, Analyzer};
use hotline_store::{EventBody, Kind, NewTicket, TopicAssignment, TopicSource, Urgency};
use serde::Deserialize;

use crate::app::AppState;
use crate::error::ApiError;

/// A ticket as an operator (or an import) submits it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TicketInput {
    pub text: String,
    pub title: Option<String>,
    pub kind: Option<String>,
    pub urgency: Option<String>,
    pub channel: Option<String>,
    pub caller_name: Option<String>,
    pub caller_phone: Option<String>,
    pub address: Option<String>,
    pub district: Option<String>,
    /// The 街道 / 乡镇, when the operator knows it (checked against the gazetteer).
    pub street: Option<String>,
    pub received_at: Option<String>,
    pub external_id: Option<String>,
    /// The operator's choice when it differs from the router's suggestion.
    pub topic: Option<String>,
}

fn clean(s: Option<String>) -> Option<String> {
    s.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

/// A district field read against the gazetteer (the one list of districts):
/// None when empty, the district's full name for its name or a short form
/// (朝阳 → 朝阳区), and for anything else a message saying so.
pub fn district_field(state: &AppState, given: Option<&str>) -> Result<Option<String>, String> {
    let Some(given) = given.map(str::trim).filter(|g| !g.is_empty()) else {
        return Ok(None);
    };
    match state.analyzer().gazetteer().canonical(given) {
        Some(d) => Ok(Some(d.to_owned())),
        None => Err(format!(
            "unknown district '{given}': not one of the configured districts (e.g. 朝阳区 or 朝阳)"
        )),
    }
}

/// The longest external id, in characters: a center's ticket numbers are
/// tens of characters; an id of megabytes is a mistake or an attack.
pub const MAX_EXTERNAL_ID_CHARS: usize = 128;

/// An external id within [`MAX_EXTERNAL_ID_CHARS`], or why not.
pub fn check_external_id(id: &str) -> Result<(), String> {
    let n = id.chars().count();
    if n > MAX_EXTERNAL_ID_CHARS {
        return Err(format!(
            "{n} characters, longer than {MAX_EXTERNAL_ID_CHARS}"
        ));
    }
    Ok(())
}

/// A submitted ticket's receipt lies at most `server.max_backdate_days`
/// before now: older history is imported, and a ticket dated years back
/// would reach the repeat links of every old ticket's caller.
pub fn check_backdate(
    state: &AppState,
    received_at: Option<NaiveDateTime>,
) -> Result<(), ApiError> {
    let days = state.config.server.max_backdate_days;
    let earliest = state.clock.now() - chrono::Duration::days(i64::from(days));
    match received_at {
        Some(at) if at < earliest => Err(ApiError::invalid(
            "received_at",
            format!(
                "{} is more than {days} days ago (server.max_backdate_days); \
                 older tickets are imported with `hotline import`",
                at.format("%Y-%m-%d %H:%M:%S")
            ),
        )),
        _ => Ok(()),
    }
}

/// Validates an operator's input and routes it (one segmentation).
pub fn prepare(state: &AppState, input: TicketInput) -> Result<(NewTicket, Analysis), ApiError> {
    let max = state.config.server.max_text_chars;
    // Whitespace, control characters (NUL …) and punctuation alone say
    // nothing: a text must have a letter, a digit or a character.
    if !input.text.chars().any(char::is_alphanumeric) {
        return Err(ApiError::invalid(
            "text",
            "the ticket's text is empty (no letter, digit or character)",
        ));
    }
    if let Some(id) = input.external_id.as_deref() {
        check_external_id(id.trim()).map_err(|m| ApiError::invalid("external_id", m))?;
    }
    // Names, numbers and places: bounded as an import bounds them (one
    // table), so that no field of megabytes reaches the journal.
    for (field, value) in [
        ("title", &input.title),
        ("channel", &input.channel),
        ("caller_name", &input.caller_name),
        ("caller_phone", &input.caller_phone),
        ("address", &input.address),
    ] {
        let limit = hotline_readers::max_chars(field);
        let n = value.as_deref().map_or(0, |v| v.chars().count());
        if let Some(limit) = limit.filter(|limit| n > *limit) {
            return Err(ApiError::invalid(
                field,
                format!("{n} characters; the limit is {limit}"),
            ));
        }
    }
    let known = crate::pii::Known::new(input.caller_name.as_deref(), input.caller_phone.as_deref());
    if let Some(message) = input
        .channel
        .as_deref()
        .and_then(|channel| crate::pii::identifier_in_label(channel, &known))
    {
        return Err(ApiError::invalid("channel", message));
    }
    if input.text.chars().count() > max {
        return Err(ApiError::invalid(
            "text",
            format!("longer than {max} characters"),
        ));
    }
    let kind = match clean(input.kind) {
        Some(k) => Kind::parse(&k).ok_or_else(|| {
            ApiError::invalid(
                "kind",
                format!("unknown kind '{k}' (咨询 求助 投诉 举报 建议)"),
            )
        })?,
        None => Kind::Complaint,
    };
    let urgency = match clean(input.urgency) {
        Some(u) => Urgency::parse(&u).ok_or_else(|| {
            ApiError::invalid(
                "urgency",
                format!("unknown urgency '{u}' (emergency utilities general complex)"),
            )
        })?,
        None => Urgency::General,
    };
    let received_at = match clean(input.received_at) {
        Some(s) => {
            let at = hotline_readers::parse_datetime(&s).ok_or_else(|| {
                ApiError::invalid("received_at", format!("cannot read date '{s}'"))
            })?;
            hotline_store::check_time(at, None).map_err(|m| ApiError::invalid("received_at", m))?;
            Some(at)
        }
        // The engine's clock is Beijing time, whatever the machine's zone.
        None => Some(hotline_store::beijing_now()),
    };
    let district = district_field(state, input.district.as_deref())
        .map_err(|message| ApiError::invalid("district", message))?;
    // One analyzer for the whole ticket: a model loaded meanwhile must not
    // route it and have another version recorded.
    let analyzer = state.analyzer();
    let topic = match clean(input.topic) {
        Some(slug) if analyzer.taxonomy().get(&slug).is_none() => {
            return Err(ApiError::invalid(
                "topic",
                format!("'{slug}' is not one of this year's topics"),
            ));
        }
        Some(slug) => Some(TopicAssignment::given(slug, TopicSource::Operator)),
        None => None,
    };
    let street = clean(input.street);
    let given = Intake {
        external_id: clean(input.external_id),
        received_at,
        channel: clean(input.channel).unwrap_or_else(|| "phone".to_owned()),
        kind,
        urgency,
        title: clean(input.title),
        text: input.text,
        caller_name: clean(input.caller_name),
        caller_phone: clean(input.caller_phone),
        address: clean(input.address),
        district: district.clone(),
        street: street.clone(),
        topic,
        department: None,
    };
    let built = build(state, &analyzer, given);
    // `build` leaves out a street it cannot place; an operator is told instead.
    if let Some(message) = built.street_left_out {
        return Err(ApiError::invalid("street", message));
    }
    Ok((built.ticket, built.analysis))
}

/// What [`build`] made of an [`Intake`].
#[derive(Debug)]
pub struct Built {
    pub ticket: NewTicket,
    pub analysis: Analysis,
    /// Why the intake's street field was left out of the ticket (it names
    /// no street, a street of another district, or a name two districts
    /// share with nothing to choose between them); [`prepare`] refuses
    /// the ticket with it, an import keeps the row without the street.
    pub street_left_out: Option<String>,
}

/// A ticket's fields as read from its source (an operator's input checked
/// by [`prepare`], an import row), before routing.
#[derive(Debug, Clone)]
pub struct Intake {
    pub external_id: Option<String>,
    pub received_at: Option<NaiveDateTime>,
    pub channel: String,
    pub kind: Kind,
    pub urgency: Urgency,
    pub title: Option<String>,
    pub text: String,
    pub caller_name: Option<String>,
    pub caller_phone: Option<String>,
    pub address: Option<String>,
    /// As given; None: the gazetteer's reading of the address and the text.
    pub district: Option<String>,
    /// As given (any listed form); None: the gazetteer's reading. See [`place_of`].
    pub street: Option<String>,
    /// A topic given with the ticket (one of `analyzer`'s); None: the router's.
    pub topic: Option<TopicAssignment>,
    /// As given; None: the topic's lead department.
    pub department: Option<String>,
}

/// Where a ticket is: its district and street (canonical names). A street
/// field (`street`, read by [`hotline_classifier::Gazetteer::street`])
/// fills the district when none is given; otherwise a district field
/// decides the district and the street must agree with it; without fields,
/// what the analysis found in the address and the text (see the rule in the
/// classifier's `street.rs`). A street field that names no street, or a
/// street of another district, is an error saying so.
pub fn place_of(
    analyzer: &Analyzer,
    analysis: &Analysis,
    district: Option<String>,
    street: Option<&str>,
    address: Option<&str>,
) -> Result<(Option<String>, Option<String>), String> {
    let gazetteer = analyzer.gazetteer();
    if let Some(given) = street.map(str::trim).filter(|s| !s.is_empty()) {
        let named = match (&district, &analysis.district) {
            (Some(d), _) => gazetteer.street(given, Some(d)),
            // A name two districts share: the one the text points at.
            (None, Some(found)) => gazetteer.street(given, None).or_else(|e| {
                gazetteer
                    .street(given, Some(&found.district))
                    .map_err(|_| e)
            }),
            (None, None) => gazetteer.street(given, None),
        }?;
        return Ok((Some(named.district), Some(named.street)));
    }
    match district {
        Some(d) => {
            let located = gazetteer.locate(Some(&d), address, &analysis.full_text);
            Ok((Some(d), located.street.map(|s| s.street)))
        }
        None => Ok((
            analysis.district.as_ref().map(|d| d.district.clone()),
            analysis.street.as_ref().map(|s| s.street.clone()),
        )),
    }
}

/// The one way a ticket is built for the store (the API, the import and the
/// demo): the text routed by `analyzer` (one segmentation), the router's
/// topic unless one was given, the department and district filled in, and
/// the index words with personal identifiers hashed. No history: the caller
/// adds it.
pub fn build(state: &AppState, analyzer: &Analyzer, intake: Intake) -> Built {
    let analysis = analyzer.analyze_at(
        intake.title.as_deref(),
        &intake.text,
        intake.address.as_deref(),
    );
    let topic = intake.topic.unwrap_or_else(|| {
        TopicAssignment::routed(
            analysis.routing.topic.clone(),
            analysis.routing.confidence,
            analyzer.router().model().version(),
        )
    });
    let department = intake
        .department
        .or_else(|| state.department(&topic.slug))
        .unwrap_or_default();
    // A street that cannot be placed is left out, and said why.
    let (district, street, street_left_out) = match place_of(
        analyzer,
        &analysis,
        intake.district.clone(),
        intake.street.as_deref(),
        intake.address.as_deref(),
    ) {
        Ok((district, street)) => (district, street, None),
        Err(message) => (intake.district, None, Some(message)),
    };
    let index_tokens = index_words(
        state,
        &analysis,
        intake.caller_name.as_deref(),
        intake.caller_phone.as_deref(),
    );
    let ticket = NewTicket {
        external_id: intake.external_id,
        received_at: intake.received_at,
        channel: intake.channel,
        kind: intake.kind,
        urgency: intake.urgency,
        title: intake.title,
        text: intake.text,
        caller_name: intake.caller_name,
        caller_phone: intake.caller_phone,
        address: intake.address,
        district,
        street,
        topic,
        department,
        deciding_words: analysis.routing.deciding_words.clone(),
        index_tokens,
        history: Vec::new(),
    };
    Built {
        ticket,
        analysis,
        street_left_out,
    }
}

/// The words a ticket is indexed under: its segmented words, except that
/// personal identifiers (the numbers the masks hide, the caller's name and
/// phone wherever they are written, and the caller's name and phone
/// fields) are there only as keyed hashes, which only a search for a reader
/// with `pii` computes. So the index answers nobody else about them.
pub fn index_words(
    state: &AppState,
    analysis: &Analysis,
    caller_name: Option<&str>,
    caller_phone: Option<&str>,
) -> String {
    let known = crate::pii::Known::new(caller_name, caller_phone);
    let spans = known.spans(&analysis.full_text);
    let hidden: Vec<_> = spans.iter().map(|(range, _)| range.clone()).collect();
    let mut words = state
        .analyzer()
        .segmenter()
        .index_text_except(&analysis.segmented, &hidden);
    // The phone field in the spelling the text's numbers are hashed in
    // (+86 dropped, Chinese numerals as digits), as well as as given.
    let phone_spelled = caller_phone.map_or_else(Vec::new, |p| known.spans(p));
    let mut terms: Vec<String> = spans
        .iter()
        .chain(&phone_spelled)
        .map(|(_, value)| value.as_str())
        .chain(caller_name)
        .chain(caller_phone)
        .filter_map(|value| state.personal.term(value))
        .collect();
    terms.sort_unstable();
    terms.dedup();
    for term in terms {
        if !words.is_empty() {
            words.push(' ');
        }
        words.push_str(&term);
    }
    words
}

/// A historical row's outcomes as lifecycle events, in order. Events whose
/// time is unknown take the best earlier time known.
pub fn history_of(
    row: &hotline_readers::ImportRow,
    department: &str,
) -> Vec<(NaiveDateTime, EventBody)> {
    let mut events = Vec::new();
    let base = row.received_at.unwrap_or_default();
    if let Some(at) = row.dispatched_at {
        events.push((
            at,
            EventBody::Dispatched {
                department: department.to_owned(),
            },
        ));
    }
    let after_dispatch = row.dispatched_at.unwrap_or(base);
    if row.contacted == Some(true) {
        events.push((
            row.feedback_at.unwrap_or(after_dispatch),
            EventBody::Contacted { note: None },
        ));
    }
    if row.feedback_at.is_some() || row.resolved.is_some() {
        let at = row.feedback_at.unwrap_or(after_dispatch);
        events.push((
            at,
            EventBody::Feedback {
                resolved: row.resolved == Some(true),
                note: None,
            },
        ));
    }
    let satisfaction = row
        .satisfaction
        .as_deref()
        .and_then(hotline_store::Satisfaction::parse);
    if row.callback_valid.is_some() || satisfaction.is_some() {
        let at = row
            .callback_at
            .or(row.feedback_at)
            .unwrap_or(after_dispatch);
        events.push((
            at,
            EventBody::Callback {
                valid: row.callback_valid.unwrap_or(true),
                contacted: row.contacted == Some(true),
                resolved: row.resolved == Some(true),
                satisfaction,
            },
        ));
    }
    if let Some(at) = row.closed_at {
        events.push((at, EventBody::Closed { note: None }));
    }
    events
}
