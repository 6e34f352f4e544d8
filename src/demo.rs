//! `roadshow demo-data`: a realistic nationwide roadshow to explore. Every state and DC gets a
//! roadshow stop at a venue in its capital, hosted by its local chamber and its regional office;
//! there are national webinars hosted by the national chamber and the federation, and a few state
//! webinars, and a few learning resources (guides and case studies, in English and Spanish).
//! Everything is published and in the future. Loading twice does nothing the second time.

use chrono::{Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

use crate::db::{new_id, now, to_db_time, write_tx, Db, DbConnection};
use crate::domain::{EventKind, EventStatus, OrganizationKind, Topic};
use crate::error::AppError;
use crate::events::model::NewEvent;
use crate::partners::queries::{self as pq, NewOrganization, NewVenue};

const CAPITALS: &[(&str, &str)] = &[
    ("AL", "Montgomery"),
    ("AK", "Juneau"),
    ("AZ", "Phoenix"),
    ("AR", "Little Rock"),
    ("CA", "Sacramento"),
    ("CO", "Denver"),
    ("CT", "Hartford"),
    ("DE", "Dover"),
    ("DC", "Washington"),
    ("FL", "Tallahassee"),
    ("GA", "Atlanta"),
    ("HI", "Honolulu"),
    ("ID", "Boise"),
    ("IL", "Springfield"),
    ("IN", "Indianapolis"),
    ("IA", "Des Moines"),
    ("KS", "Topeka"),
    ("KY", "Frankfort"),
    ("LA", "Baton Rouge"),
    ("ME", "Augusta"),
    ("MD", "Annapolis"),
    ("MA", "Boston"),
    ("MI", "Lansing"),
    ("MN", "Saint Paul"),
    ("MS", "Jackson"),
    ("MO", "Jefferson City"),
    ("MT", "Helena"),
    ("NE", "Lincoln"),
    ("NV", "Carson City"),
    ("NH", "Concord"),
    ("NJ", "Trenton"),
    ("NM", "Santa Fe"),
    ("NY", "Albany"),
    ("NC", "Raleigh"),
    ("ND", "Bismarck"),
    ("OH", "Columbus"),
    ("OK", "Oklahoma City"),
    ("OR", "Salem"),
    ("PA", "Harrisburg"),
    ("RI", "Providence"),
    ("SC", "Columbia"),
    ("SD", "Pierre"),
    ("TN", "Nashville"),
    ("TX", "Austin"),
    ("UT", "Salt Lake City"),
    ("VT", "Montpelier"),
    ("VA", "Richmond"),
    ("WA", "Olympia"),
    ("WV", "Charleston"),
    ("WI", "Madison"),
    ("WY", "Cheyenne"),
];

const REGIONS: &[(&str, &[&str])] = &[
    ("Northeast", &["CT", "ME", "MA", "NH", "RI", "VT", "NJ", "NY", "PA"]),
    ("Southeast", &["DE", "DC", "FL", "GA", "MD", "NC", "SC", "VA", "WV", "AL", "KY", "MS", "TN", "AR", "LA"]),
    ("Midwest", &["IL", "IN", "MI", "OH", "WI", "IA", "KS", "MN", "MO", "NE", "ND", "SD"]),
    ("Southwest", &["AZ", "NM", "OK", "TX"]),
    ("West", &["AK", "CA", "CO", "HI", "ID", "MT", "NV", "OR", "UT", "WA", "WY"]),
];

/// The stops' topics, in turn (from the vocabulary shared with the experts).
const TOPICS: &[&[Topic]] = &[
    &[Topic::Content, Topic::Community],
    &[Topic::PageSetup, Topic::Advertising],
    &[Topic::Video, Topic::Content],
    &[Topic::LocalSeo, Topic::PageSetup],
    &[Topic::Community, Topic::Messaging],
];

const WEBINARS: &[(&str, &str, &[Topic])] = &[
    (
        "Social media basics for Main Street",
        "Set up profiles that bring customers through the door.",
        &[Topic::PageSetup, Topic::Community],
    ),
    (
        "Your first $50 ad campaign",
        "Plan, target and measure a small paid campaign with your ad credit.",
        &[Topic::Advertising, Topic::Analytics],
    ),
    ("Short video that sells", "Film and edit short videos with a phone.", &[Topic::Video, Topic::Content]),
    ("Reviews and reputation", "Ask for, answer and use customer reviews.", &[Topic::LocalSeo, Topic::Community]),
];

/// Loads the demo roadshow; returns a one-line summary.
pub fn load(db: &Db) -> Result<String, AppError> {
    let mut conn = db.get()?;
    write_tx(&mut conn, load_in)
}

fn org(conn: &mut DbConnection, name: &str, kind: OrganizationKind, states: &[String]) -> Result<String, AppError> {
    let ts = now();
    let o = NewOrganization { id: new_id(), name: name.into(), kind, created_at: ts, updated_at: ts };
    pq::insert_organization(conn, &o, states)?;
    Ok(o.id)
}

fn load_in(conn: &mut DbConnection) -> Result<String, AppError> {
    use crate::db::schema::organizations;
    use diesel::prelude::*;
    let exists: i64 =
        organizations::table.filter(organizations::name.eq("National Chamber of Commerce")).count().get_result(conn)?;
    if exists > 0 {
        return Ok("demo data is already loaded; nothing changed".into());
    }
    let all: Vec<String> = CAPITALS.iter().map(|(s, _)| s.to_string()).collect();
    let national = org(conn, "National Chamber of Commerce", OrganizationKind::NationalChamber, &all)?;
    let federation = org(conn, "Small Business Federation", OrganizationKind::Federation, &all)?;
    org(conn, "SocialReach Platform", OrganizationKind::PlatformPartner, &[])?;
    let mut region_of = std::collections::HashMap::new();
    for (region, states) in REGIONS {
        let states: Vec<String> = states.iter().map(|s| s.to_string()).collect();
        let id = org(
            conn,
            &format!("Small Business Federation — {region} Office"),
            OrganizationKind::RegionalOffice,
            &states,
        )?;
        for s in &states {
            region_of.insert(s.clone(), id.clone());
        }
    }
    let today = Utc::now().date_naive();
    let mut events = 0;
    let mut stops = Vec::new();
    for (i, (code, city)) in CAPITALS.iter().enumerate() {
        let state = crate::states::find(conn, code)?.ok_or_else(|| AppError::internal("state missing"))?;
        let state_name = state.name.clone();
        let chamber = org(
            conn,
            &format!("{state_name} Chamber of Commerce"),
            OrganizationKind::LocalChamber,
            &[code.to_string()],
        )?;
        let tz: Tz = state.time_zone.parse().unwrap_or(chrono_tz::UTC);
        let ts = now();
        let venue = NewVenue {
            id: new_id(),
            name: format!("{city} Convention Center"),
            address: format!("{} Main Street", 100 + i * 7),
            city: city.to_string(),
            state_code: code.to_string(),
            time_zone: state.time_zone.clone(),
            organization_id: Some(chamber.clone()),
            created_at: ts,
            updated_at: ts,
        };
        pq::insert_venue(conn, &venue)?;
        // One stop per state, on weekdays, about two a week across the year.
        let day = weekday_after(today + Duration::days(14 + (i as i64) * 3));
        let topics = TOPICS[i % TOPICS.len()].to_vec();
        let hosts = vec![chamber.clone(), region_of.get(*code).cloned().unwrap_or(federation.clone())];
        let (stop_id, stop_starts) = add_event(
            conn,
            Spec {
                kind: EventKind::RoadshowStop,
                title: format!("Grow with Social: {city} Roadshow"),
                description: format!(
                    "A hands-on morning for {state_name} small businesses: profiles, posts and a first ad campaign, with one-to-one expert sessions."
                ),
                day,
                start: (9, 0),
                hours: 3,
                tz,
                capacity: 120,
                venue_id: Some(venue.id.clone()),
                join_url: None,
                state: Some(code.to_string()),
                topics,
                hosts,
            },
        )?;
        stops.push((stop_id, stop_starts, state.time_zone.clone()));
        events += 1;
        if i % 10 == 0 {
            add_event(
                conn,
                Spec {
                    kind: EventKind::Webinar,
                    title: format!("{state_name} online: selling on social"),
                    description: format!("A state webinar for {state_name} businesses that could not make the stop."),
                    day: weekday_after(day + Duration::days(7)),
                    start: (12, 0),
                    hours: 1,
                    tz,
                    capacity: 500,
                    venue_id: None,
                    join_url: Some(format!("https://webinars.example.org/{}", code.to_lowercase())),
                    state: Some(code.to_string()),
                    topics: vec![Topic::Community, Topic::Ecommerce],
                    hosts: vec![chamber.clone()],
                },
            )?;
            events += 1;
        }
    }
    let eastern: Tz = chrono_tz::America::New_York;
    for (i, (title, description, topics)) in WEBINARS.iter().enumerate() {
        add_event(
            conn,
            Spec {
                kind: EventKind::Webinar,
                title: title.to_string(),
                description: description.to_string(),
                day: weekday_after(today + Duration::days(10 + (i as i64) * 14)),
                start: (13, 0),
                hours: 1,
                tz: eastern,
                capacity: 3000,
                venue_id: None,
                join_url: Some(format!("https://webinars.example.org/national-{}", i + 1)),
                state: None,
                topics: topics.to_vec(),
                hosts: vec![national.clone(), federation.clone()],
            },
        )?;
        events += 1;
    }
    let windows = add_experts(conn, &stops)?;
    let resources = add_resources(conn, &national, &federation)?;
    Ok(format!(
        "loaded demo data: {} organizations, {} venues, {events} published events, {} experts with {windows} availability windows, {resources} learning resources",
        3 + REGIONS.len() + CAPITALS.len(),
        CAPITALS.len(),
        EXPERTS.len()
    ))
}

/// Published guides and case studies, in English and Spanish (the related resources of events
/// that share their topics).
fn add_resources(conn: &mut DbConnection, national: &str, federation: &str) -> Result<usize, AppError> {
    use crate::domain::{Language, ResourceKind, ResourceStatus, StateCode};
    use crate::resources::model::NewResource;
    struct Story {
        business: &'static str,
        state: &'static str,
        industry: &'static str,
        did: &'static str,
        results: &'static str,
    }
    /// (author, language, title, summary, body, topics, states, the story of a case study).
    type Item<'a> = (&'a str, Language, &'a str, &'a str, &'a str, &'a [Topic], &'a [&'a str], Option<Story>);
    #[rustfmt::skip]
    let items: [Item; 5] = [
        (federation, Language::English, "Your first local ad, step by step",
         "Five dollars a day, one neighborhood, one offer: how to start and what to watch.",
         "## Before you start\n\nPick **one** offer and **one** neighborhood.\n\n## Steps\n\n1. Set a daily budget\n2. Draw the area\n3. Write one line and add a photo\n\nRead more in the [help center](https://example.org/help/ads).",
         &[Topic::Advertising, Topic::LocalSeo], &[], None),
        (federation, Language::Spanish, "Tu primer anuncio local, paso a paso",
         "Cinco dólares al día, un barrio, una oferta: cómo empezar y qué mirar.",
         "## Antes de empezar\n\nElige **una** oferta y **un** barrio.\n\n1. Fija un presupuesto diario\n2. Marca la zona\n3. Escribe una línea y añade una foto",
         &[Topic::Advertising], &[], None),
        (national, Language::English, "How a San Antonio taquería filled its Tuesdays",
         "A weekly post and a small local ad brought the lunch crowd back on the slowest day.",
         "Tuesdays were the quiet day. The owners tried a *Taco Tuesday* post every week and a small ad around the block.",
         &[Topic::Advertising, Topic::Content], &["TX"],
         Some(Story { business: "Taquería Los Compadres", state: "TX", industry: "Restaurants",
                      did: "Posted its Tuesday special every Monday night and ran a $5-a-day ad within two miles.",
                      results: "Tuesday sales up 30% in two months; the ad paid for itself in the first week." })),
        (national, Language::English, "A Vermont bookshop sells online",
         "From a shelf of staff picks to a small online shop with local pickup.",
         "The shop listed twenty staff picks online and offered pickup at the door.",
         &[Topic::Ecommerce, Topic::Content], &[],
         Some(Story { business: "Green Mountain Books", state: "VT", industry: "Retail",
                      did: "Listed its staff picks online with pickup at the store.",
                      results: "One order in five is now online." })),
        (federation, Language::English, "Privacy basics for small shops",
         "What to ask customers, what to keep, and what to say on your page.",
         "## Ask only what you need\n\nAn email for the receipt is enough.\n\n## Say what you do\n\nA short, plain privacy note beats a long one.",
         &[Topic::Privacy], &[], None),
    ];
    let count = items.len();
    for (org, language, title, summary, body, topics, states, story) in items {
        let ts = now();
        let states: Vec<StateCode> = states.iter().filter_map(|s| StateCode::parse(s).ok()).collect();
        let row = NewResource {
            id: new_id(),
            kind: if story.is_some() { ResourceKind::CaseStudy } else { ResourceKind::Guide },
            title: title.into(),
            summary: summary.into(),
            body_markdown: body.into(),
            language,
            status: ResourceStatus::Published,
            organization_id: org.into(),
            business_name: story.as_ref().map(|s| s.business.into()),
            business_state: story.as_ref().map(|s| s.state.into()),
            business_industry: story.as_ref().map(|s| s.industry.into()),
            business_actions: story.as_ref().map(|s| s.did.into()),
            business_results: story.as_ref().map(|s| s.results.into()),
            recording_url: None,
            duration_minutes: None,
            event_id: None,
            created_by: None,
            created_at: ts,
            updated_at: ts,
            published_at: Some(ts),
        };
        crate::resources::queries::insert(conn, &row, topics, &states)?;
    }
    Ok(count)
}

fn weekday_after(d: NaiveDate) -> NaiveDate {
    let mut d = d;
    while d.weekday().number_from_monday() > 5 {
        d += Duration::days(1);
    }
    d
}

struct Spec {
    kind: EventKind,
    title: String,
    description: String,
    day: NaiveDate,
    start: (u32, u32),
    hours: i64,
    tz: Tz,
    capacity: i32,
    venue_id: Option<String>,
    join_url: Option<String>,
    state: Option<String>,
    topics: Vec<Topic>,
    hosts: Vec<String>,
}

/// Adds a published event; returns its id and start (UTC).
fn add_event(conn: &mut DbConnection, s: Spec) -> Result<(String, chrono::NaiveDateTime), AppError> {
    let local = s.day.and_time(NaiveTime::from_hms_opt(s.start.0, s.start.1, 0).unwrap_or_default());
    // Mid-day local times never fall in a DST gap; `earliest` settles any overlap anyway.
    let starts =
        s.tz.from_local_datetime(&local)
            .earliest()
            .ok_or_else(|| AppError::internal("demo time does not exist"))?
            .with_timezone(&Utc);
    let ts = now();
    let e = NewEvent {
        id: new_id(),
        kind: s.kind,
        title: s.title,
        description: s.description,
        starts_at: to_db_time(starts),
        ends_at: to_db_time(starts + Duration::hours(s.hours)),
        time_zone: s.tz.name().into(),
        capacity: s.capacity,
        registration_opens_at: None,
        registration_closes_at: None,
        status: EventStatus::Draft,
        venue_id: s.venue_id,
        join_url: s.join_url,
        state_code: s.state,
        created_by: None,
        created_at: ts,
        updated_at: ts,
        title_es: None,
        description_es: None,
    };
    crate::events::queries::insert(conn, &e, &s.topics, &s.hosts)?;
    crate::events::queries::set_status(conn, &e.id, EventStatus::Published)?;
    Ok((e.id, e.starts_at))
}

/// A demo expert: name, topics, languages, industries, whether online.
type DemoExpert = (&'static str, &'static [&'static str], &'static [&'static str], &'static [&'static str], bool);

/// The demo experts.
const EXPERTS: &[DemoExpert] = &[
    ("Ana Ruiz", &["advertising", "page-setup"], &["en", "es"], &["restaurants", "retail"], true),
    ("Ben Okafor", &["analytics", "advertising"], &["en"], &["professional services"], true),
    ("Chloé Martin", &["content", "community"], &["en", "fr"], &["beauty", "retail"], false),
    ("Dev Patel", &["e-commerce", "messaging"], &["en", "hi"], &["retail", "manufacturing"], false),
    ("Elena Sokolova", &["local-seo", "page-setup"], &["en", "ru"], &["home services"], false),
    ("Farah Haddad", &["messaging", "community"], &["en", "ar"], &["restaurants", "health"], true),
];

/// Experts with profiles; each stop of the first states gets three of them for its last two hours
/// (30-minute slots, 5 minutes apart), the online experts an afternoon of online slots, and a few
/// slots are booked by demo businesses (no email is queued for those).
fn add_experts(conn: &mut DbConnection, stops: &[(String, chrono::NaiveDateTime, String)]) -> Result<usize, AppError> {
    use crate::experts::model::{join_list, Profile, Window};
    let ts = now();
    let mut ids = Vec::new();
    for (name, topics, languages, industries, online) in EXPERTS {
        let id = new_id();
        let email = format!("{}@experts.example.org", name.split(' ').next().unwrap_or("expert").to_lowercase());
        crate::auth::queries::insert_user(
            conn,
            &crate::auth::queries::NewStaffUser {
                id: id.clone(),
                email,
                name: name.to_string(),
                role: crate::domain::Role::Expert,
                organization_id: None,
                active: true,
                created_at: ts,
                updated_at: ts,
            },
        )?;
        let list = |items: &[&str]| join_list(&items.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        crate::experts::queries::insert_profile(
            conn,
            &Profile {
                user_id: id.clone(),
                display_name: name.to_string(),
                bio: format!("{name} has helped hundreds of small businesses grow through social networks."),
                topics: list(topics),
                industries: list(industries),
                languages: list(languages),
                states: String::new(),
                online: *online,
                meeting_url: online.then(|| format!("https://meet.example.org/{}", &id[..8])),
                calendar_token_hash: None,
                created_at: ts,
                updated_at: ts,
            },
        )?;
        ids.push((id, *online));
    }
    let mut windows = 0;
    for (n, (event_id, starts, zone)) in stops.iter().take(8).enumerate() {
        for k in 0..3 {
            let (expert, _) = &ids[(n + k) % ids.len()];
            let w = Window {
                id: new_id(),
                expert_id: expert.clone(),
                event_id: Some(event_id.clone()),
                time_zone: zone.clone(),
                starts_at: *starts + Duration::hours(1),
                ends_at: *starts + Duration::hours(3),
                slot_minutes: 30,
                buffer_minutes: 5,
                registrants_only_until: None,
                status: crate::domain::WindowStatus::Active,
                created_by: None,
                created_at: ts,
                updated_at: ts,
            };
            crate::experts::queries::insert_window(conn, &w)?;
            windows += 1;
        }
    }
    let afternoon = weekday_after(Utc::now().date_naive() + Duration::days(9));
    for (expert, online) in ids.iter().filter(|(_, o)| *o).map(|(e, o)| (e, *o)) {
        if !online {
            continue;
        }
        let local = afternoon.and_time(NaiveTime::from_hms_opt(14, 0, 0).unwrap_or_default());
        let starts = chrono_tz::America::New_York
            .from_local_datetime(&local)
            .earliest()
            .ok_or_else(|| AppError::internal("demo time does not exist"))?
            .with_timezone(&Utc);
        let w = Window {
            id: new_id(),
            expert_id: expert.clone(),
            event_id: None,
            time_zone: "America/New_York".into(),
            starts_at: to_db_time(starts),
            ends_at: to_db_time(starts + Duration::hours(2)),
            slot_minutes: 45,
            buffer_minutes: 15,
            registrants_only_until: None,
            status: crate::domain::WindowStatus::Active,
            created_by: None,
            created_at: ts,
            updated_at: ts,
        };
        crate::experts::queries::insert_window(conn, &w)?;
        windows += 1;
    }
    crate::experts::queries::demo_bookings(conn, 12)?;
    Ok(windows)
}
