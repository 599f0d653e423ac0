"""Word lists for the demo company (companies, people, titles, places) and names built from them."""

from __future__ import annotations

import random

# fmt: off

# Pieces of invented company names: "Bright" + "wave", "Blue Harbor", "Northwind Logistics".
NAME_HEADS = (
    "Bright", "North", "Blue", "Silver", "Red", "Green", "Iron", "Stone", "Clear", "Swift",
    "True", "Prime", "Quantum", "Vertex", "Summit", "Harbor", "River", "Cedar", "Maple", "Pine",
    "Oak", "Falcon", "Eagle", "Fox", "Wolf", "Bear", "Orbit", "Nova", "Astra", "Solar",
    "Lunar", "Terra", "Aqua", "Pixel", "Data", "Cloud", "Signal", "Beacon", "Anchor", "Atlas",
    "Apex", "Crest", "Delta", "Echo", "Flux", "Granite", "Helix", "Indigo", "Juniper", "Kinetic",
    "Lumen", "Meridian", "Nimbus", "Onyx", "Pioneer", "Quartz", "Radiant", "Sterling", "Titan",
    "Unity", "Vanguard", "Willow", "Zenith", "Copper", "Cobalt", "Ember", "Frontier", "Glacier",
)
NAME_TAILS = (
    "wave", "works", "stack", "point", "bridge", "field", "gate", "line", "path", "forge",
    "labs", "ware", "logic", "soft", "scale", "base", "hub", "mark", "craft", "view",
    "sight", "spark", "shift", "loop", "grid", "core", "sphere", "vista", "nest", "port",
)
SECTOR_WORDS = (
    "Logistics", "Systems", "Analytics", "Health", "Foods", "Energy", "Capital", "Robotics",
    "Networks", "Software", "Solutions", "Technologies", "Industries", "Partners", "Group",
    "Manufacturing", "Media", "Pharma", "Insurance", "Security", "Mobility", "Retail",
    "Biosciences", "Consulting", "Materials", "Semiconductors", "Payments", "Learning",
)
SURNAME_FIRMS = (
    "Baker", "Holt", "Fischer", "Morgan", "Whitaker", "Lindqvist", "Moreau", "Rossi", "Keller",
    "Hayes", "Brennan", "Sato", "Okafor", "Novak", "Castillo", "Lambert", "Becker", "Dalton",
)

# Legal forms as companies write them, by country.
LEGAL_FORMS: dict[str, tuple[str, ...]] = {
    "United States": ("Inc.", "Inc", "Corp.", "Corporation", "LLC", "Co."),
    "Canada": ("Inc.", "Ltd.", "Corp."),
    "United Kingdom": ("Ltd", "Limited", "plc", "Ltd."),
    "Ireland": ("Ltd", "Limited", "DAC"),
    "Germany": ("GmbH", "AG", "GmbH & Co. KG", "SE"),
    "Switzerland": ("AG", "GmbH", "SA"),
    "France": ("SAS", "SA", "SARL"),
    "Netherlands": ("B.V.", "BV", "N.V."),
    "Spain": ("S.L.", "S.A.", "SL"),
    "Italy": ("S.p.A.", "S.r.l.", "SpA"),
    "Sweden": ("AB",),
    "Australia": ("Pty Ltd", "Pty. Ltd.", "Limited"),
    "Japan": ("K.K.", "Co., Ltd."),
    "Brazil": ("Ltda.", "S.A."),
    "India": ("Pvt. Ltd.", "Private Limited", "Limited"),
}

# Country, weight, country-code domain suffix, short label used in subsidiary names.
COUNTRIES: tuple[tuple[str, int, str, str], ...] = (
    ("United States", 42, "com", "US"),
    ("United Kingdom", 10, "co.uk", "UK"),
    ("Germany", 9, "de", "Deutschland"),
    ("France", 6, "fr", "France"),
    ("Canada", 5, "ca", "Canada"),
    ("Netherlands", 4, "nl", "Nederland"),
    ("Australia", 4, "com.au", "Australia"),
    ("Spain", 3, "es", "España"),
    ("Italy", 3, "it", "Italia"),
    ("Sweden", 3, "se", "Sverige"),
    ("Switzerland", 2, "ch", "Schweiz"),
    ("Ireland", 2, "ie", "Ireland"),
    ("Japan", 3, "co.jp", "Japan"),
    ("Brazil", 2, "com.br", "Brasil"),
    ("India", 2, "in", "India"),
)

CITIES: dict[str, tuple[str, ...]] = {
    "United States": ("San Francisco", "New York", "Austin", "Chicago", "Boston", "Seattle"),
    "United Kingdom": ("London", "Manchester", "Edinburgh", "Bristol"),
    "Germany": ("Berlin", "München", "Hamburg", "Köln", "Frankfurt am Main"),
    "France": ("Paris", "Lyon", "Toulouse", "Nantes"),
    "Canada": ("Toronto", "Vancouver", "Montréal"),
    "Netherlands": ("Amsterdam", "Rotterdam", "Utrecht"),
    "Australia": ("Sydney", "Melbourne", "Brisbane"),
    "Spain": ("Madrid", "Barcelona", "Valencia"),
    "Italy": ("Milano", "Roma", "Torino"),
    "Sweden": ("Stockholm", "Göteborg", "Malmö"),
    "Switzerland": ("Zürich", "Genève", "Basel"),
    "Ireland": ("Dublin", "Cork"),
    "Japan": ("Tokyo", "Osaka"),
    "Brazil": ("São Paulo", "Rio de Janeiro"),
    "India": ("Bengaluru", "Mumbai", "Pune"),
}

# Salesforce's standard Industry picklist values (a subset), with a weight for a SaaS vendor.
INDUSTRIES: tuple[tuple[str, int], ...] = (
    ("Technology", 22), ("Finance", 10), ("Banking", 5), ("Healthcare", 8), ("Retail", 7),
    ("Manufacturing", 9), ("Telecommunications", 4), ("Media", 4), ("Education", 4),
    ("Insurance", 4), ("Transportation", 4), ("Consulting", 5), ("Energy", 3),
    ("Biotechnology", 3), ("Hospitality", 2), ("Government", 2), ("Food & Beverage", 3),
    ("Utilities", 1),
)

FIRST_NAMES = (
    "James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David",
    "Elizabeth", "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah",
    "Daniel", "Karen", "Matthew", "Nancy", "Anthony", "Lisa", "Mark", "Emily", "Priya", "Rahul",
    "Wei", "Mei", "Hiroshi", "Yuki", "Lukas", "Anna", "Jonas", "Lea", "Maximilian", "Sophie",
    "Pierre", "Camille", "Luc", "Chloé", "Marco", "Giulia", "Alessandro", "Francesca", "Carlos",
    "María", "José", "Lucía", "João", "Ana", "Erik", "Astrid", "Lars", "Ingrid", "Sven", "Noor",
    "Omar", "Fatima", "Aisha", "Chinedu", "Ngozi", "Olivia", "Liam", "Emma", "Noah", "Ava",
    "Ethan", "Mia", "Siobhán", "Seán", "Zoë", "Björn", "Søren", "Dominik", "Jürgen", "Ren",
)
LAST_NAMES = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
    "Martinez", "Hernandez", "Lopez", "Wilson", "Anderson", "Taylor", "Thomas", "Moore",
    "Jackson", "Martin", "Lee", "Thompson", "White", "Harris", "Clark", "Lewis", "Walker",
    "Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Dubois", "Laurent",
    "Lefèvre", "Bernard", "Rossi", "Russo", "Ferrari", "Esposito", "García", "Fernández",
    "González", "Silva", "Santos", "Oliveira", "Andersson", "Johansson", "Nilsson", "Larsen",
    "Jensen", "Tanaka", "Suzuki", "Takahashi", "Watanabe", "Patel", "Sharma", "Singh", "Gupta",
    "Chen", "Wang", "Zhang", "Liu", "Kim", "Park", "Nguyen", "O'Brien", "O'Neill", "Murphy",
    "Kelly", "van der Berg", "de Vries", "Jansen", "Okafor", "Adeyemi", "Haddad", "Khan",
)

# Job titles as people write them: (title, weight). Seniority and department are not stored:
# the graph layer derives them from the title, which is what the demo should exercise.
TITLES: tuple[tuple[str, int], ...] = (
    ("CEO", 2), ("Chief Executive Officer", 1), ("Founder & CEO", 1), ("CTO", 2),
    ("Chief Technology Officer", 1), ("CFO", 1), ("Chief Financial Officer", 1), ("CIO", 1),
    ("COO", 1), ("CMO", 1), ("Chief Revenue Officer", 1), ("CTO / Co-Founder", 1),
    ("VP Sales", 2), ("VP, Sales - EMEA", 1), ("VP of Engineering", 2), ("VP Marketing", 2),
    ("SVP, Customer Success", 1), ("VP Finance", 1), ("Vice President, Operations", 1),
    ("Head of RevOps", 2), ("Head of Data", 2), ("Head of Procurement", 1), ("Head of IT", 2),
    ("Director of Engineering", 3), ("Director, Demand Generation", 2), ("IT Director", 2),
    ("Director of Finance", 2), ("Sales Director", 2), ("Director of Product", 2),
    ("Engineering Manager", 4), ("Marketing Manager", 4), ("Product Manager", 4),
    ("Sr. Product Manager", 2), ("Account Manager", 3), ("Customer Success Manager", 3),
    ("IT Manager", 3), ("Procurement Manager", 2), ("HR Manager", 2), ("Office Manager", 1),
    ("Software Engineer", 8), ("Sr. Software Engineer", 5), ("Data Engineer", 4),
    ("Data Analyst", 4), ("DevOps Engineer", 3), ("Solutions Architect", 2),
    ("Marketing Specialist", 3), ("Sales Development Representative", 3),
    ("Account Executive", 3), ("Financial Analyst", 2), ("Business Analyst", 3),
    ("Systems Administrator", 2), ("Legal Counsel", 1), ("Recruiter", 1), ("Buyer", 1),
    ("Geschäftsführer", 2), ("Leiter Vertrieb", 1), ("Leiterin Marketing", 1),
    ("IT-Leiter", 1), ("Softwareentwickler", 2), ("Einkaufsleiter", 1),
    ("Directeur Général", 1), ("Directeur Commercial", 1), ("Responsable Marketing", 1),
    ("Ingénieur Logiciel", 1), ("Directrice Financière", 1), ("Director de Tecnología", 1),
    ("Jefe de Compras", 1), ("Gerente de Ventas", 1), ("Responsabile IT", 1),
    ("Amministratore Delegato", 1), ("Inköpschef", 1), ("Verkställande direktör", 1),
    ("Directeur des Systèmes d'Information", 1), ("", 3),
)

FREE_MAIL = (
    "gmail.com", "yahoo.com", "hotmail.com", "outlook.com", "icloud.com", "aol.com",
    "protonmail.com", "live.com", "gmx.de", "web.de", "orange.fr", "yahoo.co.uk", "mail.com",
)

# Subdomains people's mail comes from at larger companies.
MAIL_SUBDOMAINS = ("mail", "us", "eu", "corp", "emea", "na", "uk", "de")

LEAD_SOURCES = ("Web", "Webinar", "Trade Show", "Partner Referral", "Content Download",
                "Paid Search", "LinkedIn", "Cold Outreach")
LEAD_STATUSES = (
    ("Open - Not Contacted", 5), ("Working - Contacted", 3), ("Closed - Not Converted", 2),
)

# fmt: on


def company_core(rng: random.Random) -> str:
    """An invented company name without legal form, e.g. 'Brightwave' or 'Cedar Analytics'."""
    r = rng.random()
    head, tail = rng.choice(NAME_HEADS), rng.choice(NAME_TAILS)
    sector = rng.choice(SECTOR_WORDS)
    if r < 0.35:
        return head + tail
    if r < 0.55:
        return f"{head} {sector}"
    if r < 0.72:
        return f"{head}{tail} {sector}"
    if r < 0.82:
        first, second = rng.sample(SURNAME_FIRMS, 2)
        return f"{first} & {second}"
    if r < 0.92:
        letters = "".join(rng.choice("ABCDEFGHJKLMNPRSTVWXZ") for _ in range(3))
        return f"{letters} {sector}"
    return f"{head} {rng.choice(NAME_HEADS)}"
