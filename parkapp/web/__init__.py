"""What the web layer shares across blueprints and the API: form fields for local times, export job descriptions, checkout return links."""
