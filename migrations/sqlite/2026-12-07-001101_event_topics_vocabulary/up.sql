-- Event topics join the experts' vocabulary (`domain::Topic`, issue 11): advertising, page-setup,
-- messaging, community, analytics, e-commerce, content, local-seo, privacy, video. Events took
-- free words until now; from here on the API refuses a word outside the vocabulary, so the
-- stored ones are mapped to it.
--
-- Mapped (after reading `_` and ` ` as `-`, so `social media` is `social-media`):
--   instagram → content; facebook → page-setup; tiktok, reels → video;
--   social-media, linkedin → community; local-ads, ads, marketing → advertising;
--   google-business-profile, seo → local-seo; whatsapp → messaging; ecommerce → e-commerce.
-- Words already in the vocabulary stay (spelled as it spells them). Every other row is dropped:
-- a topic outside the vocabulary can no longer be shown or filtered on.
--
-- The mapped rows are added first, once per event and term, and only where the event does not
-- hold the term yet (two old words of one event, `tiktok` and `reels`, become one `video`; the
-- key is (event_id, topic)); then every row outside the vocabulary goes. The same SQL runs on
-- PostgreSQL and SQLite.
INSERT INTO event_topics (event_id, topic)
SELECT DISTINCT m.event_id, m.topic
FROM (
    SELECT event_id,
           CASE replace(replace(topic, '_', '-'), ' ', '-')
               WHEN 'instagram' THEN 'content'
               WHEN 'facebook' THEN 'page-setup'
               WHEN 'tiktok' THEN 'video'
               WHEN 'reels' THEN 'video'
               WHEN 'social-media' THEN 'community'
               WHEN 'linkedin' THEN 'community'
               WHEN 'local-ads' THEN 'advertising'
               WHEN 'ads' THEN 'advertising'
               WHEN 'marketing' THEN 'advertising'
               WHEN 'google-business-profile' THEN 'local-seo'
               WHEN 'seo' THEN 'local-seo'
               WHEN 'whatsapp' THEN 'messaging'
               WHEN 'ecommerce' THEN 'e-commerce'
               WHEN 'advertising' THEN 'advertising'
               WHEN 'page-setup' THEN 'page-setup'
               WHEN 'messaging' THEN 'messaging'
               WHEN 'community' THEN 'community'
               WHEN 'analytics' THEN 'analytics'
               WHEN 'e-commerce' THEN 'e-commerce'
               WHEN 'content' THEN 'content'
               WHEN 'local-seo' THEN 'local-seo'
               WHEN 'privacy' THEN 'privacy'
               WHEN 'video' THEN 'video'
           END AS topic
    FROM event_topics
) m
WHERE m.topic IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM event_topics t WHERE t.event_id = m.event_id AND t.topic = m.topic);

DELETE FROM event_topics
WHERE topic NOT IN ('advertising', 'page-setup', 'messaging', 'community', 'analytics', 'e-commerce',
                    'content', 'local-seo', 'privacy', 'video');
