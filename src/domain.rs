//! The closed sets of the domain as Rust types, converted at the database boundary.
//!
//! Every column that holds one of a fixed set of words (an event's status, a role, an outbox
//! row's status, …) is `TEXT` with a `CHECK` in the migrations; in Rust it is an enum declared
//! with [`text_enum!`], which gives it, from one list of variants:
//!
//! - serde in `snake_case` (the wire form) and a `utoipa` schema listing the values;
//! - `as_str`, `Display` and `FromStr` (the error names the accepted values);
//! - diesel `ToSql`/`FromSql` for `Text` on PostgreSQL, SQLite and the `MultiBackend` of
//!   [`crate::db::DbConnection`], so queries bind and load the enum itself. A value in the
//!   database that the enum does not know is a deserialization error, never a silent default.
//!
//! Parsing input yields these types ("parse, don't validate"): once a handler holds an
//! `EventKind`, nothing downstream compares strings.

/// diesel `ToSql`/`FromSql` for `Text` on PostgreSQL, SQLite and the `MultiBackend`, for a type
/// with `as_str()`; `$load` turns the stored text into the type. Shared by [`text_enum!`] and
/// `text_newtype!`.
#[doc(hidden)]
#[macro_export]
macro_rules! __text_sql {
    ($name:ident, $load:expr) => {
        impl diesel::serialize::ToSql<diesel::sql_types::Text, diesel::pg::Pg> for $name {
            fn to_sql<'b>(&'b self, out: &mut diesel::serialize::Output<'b, '_, diesel::pg::Pg>) -> diesel::serialize::Result {
                <str as diesel::serialize::ToSql<diesel::sql_types::Text, diesel::pg::Pg>>::to_sql(self.as_str(), &mut out.reborrow())
            }
        }

        impl diesel::serialize::ToSql<diesel::sql_types::Text, diesel::sqlite::Sqlite> for $name {
            fn to_sql<'b>(&'b self, out: &mut diesel::serialize::Output<'b, '_, diesel::sqlite::Sqlite>) -> diesel::serialize::Result {
                out.set_value(self.as_str());
                Ok(diesel::serialize::IsNull::No)
            }
        }

        impl diesel::serialize::ToSql<diesel::sql_types::Text, $crate::db::MultiBackend> for $name {
            fn to_sql<'b>(&'b self, out: &mut diesel::serialize::Output<'b, '_, $crate::db::MultiBackend>) -> diesel::serialize::Result {
                out.set_value((diesel::sql_types::Text, self));
                Ok(diesel::serialize::IsNull::No)
            }
        }

        impl diesel::deserialize::FromSql<diesel::sql_types::Text, diesel::pg::Pg> for $name {
            fn from_sql(bytes: diesel::pg::PgValue<'_>) -> diesel::deserialize::Result<Self> {
                let load: fn(String) -> diesel::deserialize::Result<$name> = $load;
                load(<String as diesel::deserialize::FromSql<diesel::sql_types::Text, diesel::pg::Pg>>::from_sql(bytes)?)
            }
        }

        impl diesel::deserialize::FromSql<diesel::sql_types::Text, diesel::sqlite::Sqlite> for $name {
            fn from_sql(bytes: <diesel::sqlite::Sqlite as diesel::backend::Backend>::RawValue<'_>) -> diesel::deserialize::Result<Self> {
                let load: fn(String) -> diesel::deserialize::Result<$name> = $load;
                load(<String as diesel::deserialize::FromSql<diesel::sql_types::Text, diesel::sqlite::Sqlite>>::from_sql(bytes)?)
            }
        }

        impl diesel::deserialize::FromSql<diesel::sql_types::Text, $crate::db::MultiBackend> for $name {
            fn from_sql(bytes: <$crate::db::MultiBackend as diesel::backend::Backend>::RawValue<'_>) -> diesel::deserialize::Result<Self> {
                bytes.from_sql::<$name, diesel::sql_types::Text>()
            }
        }
    };
}

/// Declares a `Text`-backed enum (see the module docs). Each variant names its wire and database
/// spelling: `Draft = "draft"`. (The spelling is matched as a `tt`, not a `literal`: a `literal`
/// fragment reaches derive macros wrapped in an invisible group, which utoipa does not read, so
/// the schema listed the Rust names instead of the `serde` renames.)
#[macro_export]
macro_rules! text_enum {
    ($(#[$meta:meta])* $vis:vis enum $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:tt),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord,
            serde::Serialize, serde::Deserialize, utoipa::ToSchema,
            diesel::AsExpression, diesel::FromSqlRow,
        )]
        #[diesel(sql_type = diesel::sql_types::Text)]
        $vis enum $name {
            // utoipa reads serde's `rename` only from a bare literal token, which `$text` is not
            // inside a macro, so the schema gets its own (or it would list the Rust names).
            $($(#[$vmeta])* #[serde(rename = $text)] #[schema(rename = $text)] $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The wire and database spelling.
            pub const fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// The accepted spellings, for error messages: `"a", "b" or "c"`.
            pub fn expected() -> String {
                $crate::domain::one_of(&[$($text),+])
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err(format!("must be {}", $name::expected())),
                }
            }
        }

        $crate::__text_sql!($name, |s: String| $crate::domain::from_db(stringify!($name), &s));
    };
}

/// Declares a newtype over `String` for a value with rules: built only by `parse` (which
/// normalises and checks), and otherwise like [`text_enum!`] at the boundaries (serde, whose
/// `Deserialize` parses too; a `utoipa` string schema; diesel `Text` on both engines).
macro_rules! text_newtype {
    ($(#[$meta:meta])* $vis:vis struct $name:ident; schema = $schema:expr) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, diesel::AsExpression, diesel::FromSqlRow)]
        #[serde(transparent)]
        #[diesel(sql_type = diesel::sql_types::Text)]
        $vis struct $name(String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl std::ops::Deref for $name {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.0
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        impl std::str::FromStr for $name {
            type Err = &'static str;
            fn from_str(s: &str) -> Result<Self, &'static str> {
                $name::parse(s)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                $name::parse(&s).map_err(serde::de::Error::custom)
            }
        }

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                $schema.into()
            }
        }

        impl utoipa::ToSchema for $name {}

        // Stored values were parsed on the way in; they are read back as they are (an address
        // stored before a rule tightened still loads).
        $crate::__text_sql!($name, |s: String| Ok($name(s)));
    };
}

text_newtype! {
    /// An email address as the service keeps it: trimmed and lower-cased, one `@`, a dotted
    /// domain, no spaces, and one the mailer can send to. Deliberately simple: the real check is
    /// the mail that arrives.
    pub struct EmailAddress;
    schema = utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(utoipa::openapi::KnownFormat::Email)))
        .max_length(Some(254))
        .examples(["owner@bakery.example"])
}

impl EmailAddress {
    pub const RULE: &'static str = "must be an email address like name@example.com";

    pub fn parse(value: &str) -> Result<Self, &'static str> {
        let v = value.trim().to_lowercase();
        if v.len() > 254 || v.chars().any(|c| c.is_whitespace() || c.is_control() || c == '<' || c == '>' || c == ',') {
            return Err(Self::RULE);
        }
        let (local, domain) = v.split_once('@').ok_or(Self::RULE)?;
        if local.is_empty()
            || domain.contains('@')
            || !domain.contains('.')
            || domain.starts_with('.')
            || domain.ends_with('.')
            || domain.contains("..")
        {
            return Err(Self::RULE);
        }
        // The address must also be one lettre can send to.
        v.parse::<lettre::Address>().map_err(|_| Self::RULE)?;
        Ok(EmailAddress(v))
    }
}

text_newtype! {
    /// A two-letter state code, upper-cased (that the state exists is checked against the
    /// `states` table where it matters).
    pub struct StateCode;
    schema = utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .pattern(Some("^[A-Za-z]{2}$"))
        .examples(["TX"])
}

impl StateCode {
    pub const RULE: &'static str = "must be a two-letter state code like TX";

    pub fn parse(value: &str) -> Result<Self, &'static str> {
        let v = value.trim().to_ascii_uppercase();
        if v.len() == 2 && v.chars().all(|c| c.is_ascii_alphabetic()) {
            Ok(StateCode(v))
        } else {
            Err(Self::RULE)
        }
    }
}

text_newtype! {
    /// A US Employer Identification Number, stored as `12-3456789`: nine digits (typed with or
    /// without the dash, spaces allowed) whose two-digit prefix is one the IRS assigns. It tells one
    /// business from another across contact emails (the ad credit goes once per business).
    pub struct Ein;
    schema = utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .pattern(Some("^[0-9]{2}-?[0-9]{7}$"))
        .examples(["12-3456789"])
}

impl Ein {
    pub const RULE: &'static str = "must be an EIN: nine digits like 12-3456789";

    /// Prefixes the IRS has never assigned to a campus or an online application.
    const UNASSIGNED: [u8; 17] = [0, 7, 8, 9, 17, 18, 19, 28, 29, 49, 69, 70, 78, 79, 89, 96, 97];

    pub fn parse(value: &str) -> Result<Self, &'static str> {
        let v = value.trim();
        let dashes = v.matches('-').count();
        if dashes > 1 || (dashes == 1 && v.find('-') != Some(2)) {
            return Err(Self::RULE);
        }
        let digits: String = v.chars().filter(|c| *c != '-' && *c != ' ').collect();
        if digits.len() != 9 || !digits.chars().all(|c| c.is_ascii_digit()) {
            return Err(Self::RULE);
        }
        let prefix: u8 = digits[..2].parse().map_err(|_| Self::RULE)?;
        if Self::UNASSIGNED.contains(&prefix) {
            return Err("is not an EIN: no EIN starts with that two-digit prefix");
        }
        Ok(Ein(format!("{}-{}", &digits[..2], &digits[2..])))
    }
}

/// `"a", "b" or "c"`.
pub fn one_of(values: &[&str]) -> String {
    match values {
        [] => String::new(),
        [only] => format!("\"{only}\""),
        [init @ .., last] => {
            let init: Vec<String> = init.iter().map(|v| format!("\"{v}\"")).collect();
            format!("{} or \"{last}\"", init.join(", "))
        }
    }
}

/// Parses a stored value; an unknown one is an error naming the type (the migrations' `CHECK`s
/// make this a sign of a schema and code out of step, never of bad input).
pub fn from_db<T: std::str::FromStr>(type_name: &str, s: &str) -> diesel::deserialize::Result<T> {
    s.parse().map_err(|_| format!("unknown {type_name} in the database: {s:?}").into())
}

text_enum! {
    /// What kind of gathering an event is.
    pub enum EventKind { RoadshowStop = "roadshow_stop", Webinar = "webinar" }
}

text_enum! {
    /// An event's life: drafted, published (visible and open), cancelled, or completed.
    pub enum EventStatus { Draft = "draft", Published = "published", Cancelled = "cancelled", Completed = "completed" }
}

text_enum! {
    /// A registration's state. `attended` is set at check-in.
    pub enum RegistrationStatus {
        Confirmed = "confirmed",
        Waitlisted = "waitlisted",
        Cancelled = "cancelled",
        Attended = "attended",
    }
}

text_enum! {
    /// Staff roles (see ARCHITECTURE.md, "Invariants", and [`crate::auth::scope`]).
    pub enum Role { Admin = "admin", Organizer = "organizer", Expert = "expert" }
}

text_enum! {
    /// The partners that run the roadshow.
    pub enum OrganizationKind {
        NationalChamber = "national_chamber",
        Federation = "federation",
        RegionalOffice = "regional_office",
        LocalChamber = "local_chamber",
        PlatformPartner = "platform_partner",
    }
}

text_enum! {
    /// An outbox row's delivery state. `suppressed` rows went past the hourly cap and are never
    /// sent; `dropped` rows lost their reason to be sent (an erased address, withdrawn consent).
    pub enum OutboxStatus {
        Pending = "pending",
        Sent = "sent",
        Dead = "dead",
        Dropped = "dropped",
        Suppressed = "suppressed",
    }
}

text_enum! {
    /// Whether an email is part of a transaction the business started or marketing (follow-ups),
    /// which needs the address's consent.
    pub enum MailCategory { Transactional = "transactional", Marketing = "marketing" }
}

text_enum! {
    /// What a privacy request asks for. `links` is queued by lost-link recovery.
    pub enum PrivacyKind {
        Export = "export",
        Erase = "erase",
        UpdateBusiness = "update_business",
        Marketing = "marketing",
        Links = "links",
        Voucher = "voucher",
    }
}

text_enum! {
    /// An ad-credit grant's state: `active` (the business holds it), `revoked` by an admin (with a
    /// reason) or `declined` by the business. The amount of a revoked or declined grant is back
    /// in its reserve.
    pub enum GrantStatus { Active = "active", Revoked = "revoked", Declined = "declined" }
}

text_enum! {
    /// How a business took part, which earned its grant: checked in at a stop, an expert session
    /// marked attended, a webinar attended (the platform's attendance upload), or an admin's
    /// explicit re-grant.
    pub enum GrantSource { CheckIn = "check_in", ExpertSession = "expert_session", Webinar = "webinar", Admin = "admin" }
}

text_enum! {
    /// A privacy request's state in the queue.
    pub enum PrivacyStatus {
        Queued = "queued",
        Sent = "sent",
        Ignored = "ignored",
        Throttled = "throttled",
        Used = "used",
        Erased = "erased",
    }
}

text_enum! {
    /// The program's topics: what an event is about, what experts advise on and what a booking
    /// asks about. One fixed vocabulary shared by events, experts and learning
    /// resources, so a business's topic and an expert's match exactly (see
    /// [`crate::experts::matching`]) and a `topic=` filter finds the same thing everywhere.
    /// `video` covers live video, reels and recordings.
    pub enum Topic {
        Advertising = "advertising",
        PageSetup = "page-setup",
        Messaging = "messaging",
        Community = "community",
        Analytics = "analytics",
        Ecommerce = "e-commerce",
        Content = "content",
        LocalSeo = "local-seo",
        Privacy = "privacy",
        Video = "video",
    }
}

text_enum! {
    /// The language a business reads: the pages it sees, and every email that follows a
    /// registration or an expert booking (stored with it). Staff-facing answers stay English.
    /// See [`crate::i18n`].
    #[derive(Default)]
    pub enum Language { #[default] English = "en", Spanish = "es" }
}

text_enum! {
    /// What a learning resource is ([`crate::resources`]): a business's story, an advice article,
    /// or the recording of a webinar.
    pub enum ResourceKind { CaseStudy = "case_study", Guide = "guide", Recording = "recording" }
}

text_enum! {
    /// A learning resource's state: only `published` ones are public.
    pub enum ResourceStatus { Draft = "draft", Published = "published" }
}

text_enum! {
    /// An expert's availability window: `cancelled` ones keep their history but offer nothing.
    pub enum WindowStatus { Active = "active", Cancelled = "cancelled" }
}

text_enum! {
    /// A slot cut from a window: `open` (bookable unless a booking holds it) or `withdrawn` (cut
    /// away by a shortened or cancelled window).
    pub enum SlotStatus { Open = "open", Withdrawn = "withdrawn" }
}

text_enum! {
    /// An expert booking's state: `booked` holds its slot; staff mark it `attended` or `no_show`
    /// afterwards.
    pub enum BookingStatus { Booked = "booked", Cancelled = "cancelled", Attended = "attended", NoShow = "no_show" }
}

text_enum! {
    /// What an attendee needs to take part (an accommodation request, [`crate::accommodations`]).
    /// `another_language` and `other` need a note saying what.
    pub enum AccommodationCategory {
        WheelchairAccess = "wheelchair_access",
        SignLanguageInterpreter = "sign_language_interpreter",
        LiveCaptions = "live_captions",
        AnotherLanguage = "another_language",
        Other = "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_round_trips_through_its_spelling() {
        for kind in EventStatus::ALL {
            assert_eq!(kind.as_str().parse::<EventStatus>(), Ok(*kind));
            assert_eq!(serde_json::to_value(kind).unwrap(), serde_json::json!(kind.as_str()));
        }
        assert_eq!("roadshow_stop".parse::<EventKind>(), Ok(EventKind::RoadshowStop));
    }

    #[test]
    fn the_schema_lists_the_wire_spellings() {
        // A `literal` fragment reaches utoipa's derive inside an invisible group, and its serde
        // parser then misses `rename`: the schema would list `RoadshowStop`.
        let schema = serde_json::to_value(<EventKind as utoipa::PartialSchema>::schema()).unwrap();
        assert_eq!(schema["enum"], serde_json::json!(["roadshow_stop", "webinar"]), "{schema}");
        let schema = serde_json::to_value(<OrganizationKind as utoipa::PartialSchema>::schema()).unwrap();
        let spellings: Vec<&str> = OrganizationKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(schema["enum"], serde_json::json!(spellings));
        let schema = serde_json::to_value(<RegistrationStatus as utoipa::PartialSchema>::schema()).unwrap();
        assert_eq!(schema["enum"], serde_json::json!(["confirmed", "waitlisted", "cancelled", "attended"]));
    }

    #[test]
    fn newtypes_are_built_only_by_their_rules() {
        assert_eq!(EmailAddress::parse("  Owner@Bakery.Example ").unwrap(), "owner@bakery.example");
        for bad in ["", "no-at.example", "a@b", "a b@c.example", "a@@b.example", "a@.b.example"] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad:?}");
        }
        assert!(serde_json::from_str::<EmailAddress>("\"x\"").is_err(), "deserializing parses too");
        assert_eq!(StateCode::parse(" tx").unwrap(), "TX");
        assert_eq!(Ein::parse("123456789").unwrap(), "12-3456789");
        assert_eq!(Ein::parse(" 12-345 6789 ").unwrap(), "12-3456789");
        for bad in ["12345678", "1234567890", "12-34-56789", "1-23456789", "AB-3456789", "00-1234567", "07-1234567"] {
            assert!(Ein::parse(bad).is_err(), "{bad:?}");
        }
        assert!(StateCode::parse("Texas").is_err() && StateCode::parse("T1").is_err());
    }

    #[test]
    fn an_unknown_value_names_the_accepted_ones() {
        let err = "webinars".parse::<EventKind>().unwrap_err();
        assert_eq!(err, "must be \"roadshow_stop\" or \"webinar\"");
        assert_eq!(one_of(&["a", "b", "c"]), "\"a\", \"b\" or \"c\"");
    }
}
