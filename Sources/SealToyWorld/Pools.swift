/// The vocabularies the toy world draws from. Fixed lists (never shuffled in place, never hashed): a person's
/// attributes are indices into them, so the same seed gives the same world on every platform.
///
/// Cities and universities are invented or generic; companies are invented. Each company has one home city (a fact
/// of the world that every biography of its employees agrees with).
enum Pools {
    static let femaleFirst = [
        "Ada", "Alma", "Amelia", "Anna", "Beatrice", "Bianca", "Camille", "Clara", "Cora", "Daisy", "Delia", "Edith",
        "Elena", "Eliza", "Ella", "Emma", "Esther", "Eva", "Flora", "Freya", "Gemma", "Greta", "Hazel", "Helena",
        "Ida", "Iris", "Isla", "Ivy", "Jana", "Julia", "June", "Kara", "Lara", "Laura", "Lena", "Lila", "Linnea",
        "Lucia", "Lydia", "Mara", "Maya", "Mila", "Mira", "Nadia", "Nina", "Nora", "Olga", "Paula", "Petra", "Quinn",
        "Rhea", "Rosa", "Ruth", "Sara", "Selma", "Sofia", "Stella", "Tessa", "Thea", "Una", "Vera", "Viola", "Wanda",
        "Yara", "Zoe",
    ]
    static let maleFirst = [
        "Aaron", "Adrian", "Alfred", "Anton", "Arthur", "Axel", "Boris", "Bruno", "Caleb", "Carl", "Cyril", "Damian",
        "Dario", "Edgar", "Elias", "Emil", "Erik", "Felix", "Filip", "Gideon", "Gustav", "Hugo", "Igor", "Isaac",
        "Ivan", "Jakob", "Jonas", "Julian", "Kasper", "Konrad", "Lars", "Leon", "Levi", "Linus", "Lucas", "Magnus",
        "Marco", "Milo", "Nathan", "Nico", "Oliver", "Oscar", "Otto", "Pablo", "Paul", "Peter", "Rafael", "Remy",
        "Robin", "Rufus", "Samuel", "Silas", "Simon", "Stefan", "Theo", "Tobias", "Victor", "Walter", "Xavier",
        "Yusuf", "Zane",
    ]
    static let last = [
        "Abbott", "Alder", "Ashby", "Barlow", "Beckett", "Bellamy", "Birch", "Blackwood", "Brandt", "Brennan",
        "Calloway", "Carver", "Castell", "Chandler", "Colborne", "Corwin", "Crane", "Dalton", "Darrow", "Dekker",
        "Delacroix", "Drummond", "Eastwood", "Eberhart", "Ellery", "Everly", "Fairbanks", "Falk", "Fenwick", "Fischer",
        "Fletcher", "Forsythe", "Galloway", "Garrick", "Gilmore", "Grady", "Greaves", "Hadley", "Halvorsen", "Hartley",
        "Hawthorne", "Hendricks", "Holloway", "Horvath", "Ingram", "Iverson", "Jansen", "Jarvis", "Kellner",
        "Kessler", "Kingsley", "Kovacs", "Lachance", "Lambert", "Langley", "Larkin", "Lindqvist", "Lockhart",
        "Lundgren", "Maddox", "Marchetti", "Mercer", "Moreau", "Morrow", "Nakamura", "Navarro", "Nilsen", "Norwood",
        "Oakley", "Okafor", "Olsen", "Ortega", "Pemberton", "Petrov", "Prescott", "Quill", "Radcliffe", "Ramsey",
        "Renner", "Ridley", "Rourke", "Sadler", "Salazar", "Sandoval", "Sinclair", "Sorensen", "Stanton", "Strand",
        "Sutherland", "Tanaka", "Thorne", "Tillman", "Underwood", "Vance", "Varga", "Vasquez", "Voss", "Wakefield",
        "Wallace", "Weller", "Whitlock", "Winslow", "Wolfe", "Yates", "Zeller", "Zimmer",
    ]
    static let cities = [
        "Ashford", "Bellhaven", "Brightwater", "Calderon", "Cedarbrook", "Clearwell", "Copperton", "Dunmore",
        "Eastmere", "Elmsworth", "Fairport", "Fernvale", "Glenrock", "Goldcrest", "Greystone", "Harborview",
        "Highgate", "Hollowmere", "Ironbridge", "Kestrel Bay", "Lakemont", "Larkfield", "Lindenburg", "Marlow",
        "Meadowbrook", "Millbrook", "Northcliff", "Oakhaven", "Pinecrest", "Port Amsel", "Queensford", "Ravenhill",
        "Redwater", "Riverton", "Rosedale", "Saltmarsh", "Silverlake", "Southport", "Starling", "Stonebridge",
        "Sunmere", "Thornbury", "Valemont", "Westbrook", "Whitecliff", "Willowby", "Windmere", "Yarrowfield",
    ]
    static let universities = [
        "Ashford University", "Bellhaven Institute of Technology", "Brightwater College", "Calderon State University",
        "Cedarbrook University", "the University of Dunmore", "Eastmere Polytechnic", "Fairport University",
        "Glenrock College", "Greystone University", "Harborview Institute", "Highgate University",
        "the University of Lakemont", "Larkfield College", "Marlow University", "Northcliff Institute of Science",
        "Oakhaven University", "Pinecrest College", "Queensford University", "Ravenhill Institute",
        "Riverton State University", "Rosedale College", "Silverlake University", "Southport Technical University",
        "Stonebridge University", "the University of Thornbury", "Valemont College", "Westbrook University",
        "Whitecliff Academy", "Windmere University",
    ]
    static let majors = [
        "Physics", "Chemistry", "Mathematics", "Biology", "Economics", "History", "Philosophy", "Linguistics",
        "Computer Science", "Civil Engineering", "Mechanical Engineering", "Electrical Engineering", "Architecture",
        "Astronomy", "Geology", "Marine Biology", "Psychology", "Sociology", "Political Science", "Music",
        "Fine Arts", "Literature", "Journalism", "Law", "Medicine", "Nursing", "Statistics", "Anthropology",
        "Agriculture", "Finance",
    ]
    /// Companies and the index of their home city in `cities`.
    static let companies: [(name: String, city: Int)] = [
        ("Northwind Analytics", 0), ("Bluefin Robotics", 15), ("Cobalt Systems", 27), ("Crescent Foods", 3),
        ("Driftwood Media", 36), ("Emberline Energy", 11), ("Foxglove Pharmaceuticals", 44), ("Granite Logistics", 18),
        ("Halcyon Airlines", 24), ("Ironleaf Bank", 32), ("Juniper Health", 6), ("Keystone Motors", 40),
        ("Lumen Optics", 21), ("Maple Leaf Insurance", 9), ("Nimbus Software", 29), ("Orchid Textiles", 1),
        ("Pioneer Shipping", 37), ("Quartz Semiconductors", 13), ("Redstone Mining", 31), ("Sapphire Hotels", 46),
        ("Tidewater Fisheries", 35), ("Umbra Games", 4), ("Vantage Consulting", 17), ("Willow Publishing", 42),
        ("Yellowtail Telecom", 8), ("Zephyr Aerospace", 26), ("Aurora Biotech", 12), ("Beacon Builders", 39),
        ("Cascade Water", 22), ("Dovetail Furniture", 33), ("Evergreen Farms", 19), ("Fjord Outfitters", 45),
    ]
    static let hobbies = [
        "painting", "rock climbing", "chess", "gardening", "sailing", "birdwatching", "pottery", "cycling",
        "photography", "baking", "fencing", "kayaking", "knitting", "astronomy", "woodworking", "archery",
        "calligraphy", "hiking", "origami", "skiing", "playing the cello", "beekeeping", "swimming",
        "playing the violin", "running marathons", "collecting stamps", "fly fishing", "rowing", "juggling",
        "writing poetry",
    ]
    static let months = [
        "January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
        "November", "December",
    ]
}
