-- Reminders sent through a notification-channel module (SMS, voice): the provider's
-- message ids and the delivery state it reports (queued, sent, delivered, failed).
ALTER TABLE reminder_messages ADD COLUMN provider_ids TEXT;
ALTER TABLE reminder_messages ADD COLUMN delivery TEXT;
ALTER TABLE reminder_messages ADD COLUMN delivery_detail TEXT;
