"""Filing a breach: the notification register, the Art. 33(5) breach register, mandatory assessments and sign-offs."""
