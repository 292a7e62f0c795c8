# The notes' first PyTorch program: an 8-12-8-1 classifier (ReLU, ReLU, sigmoid) on a CSV of eight
# features and a 0/1 label, trained with binary cross-entropy and Adam in mini-batches of 10.  The
# notes' listing stops after the model; the training loop here is the usual one for it.  Only the
# imports name chainrule.torch.  The CSV is written from scikit-learn's breast-cancer data (its
# first eight features), standing in for the notes' 'yourdata.csv'.
import numpy as np
import chainrule.torch as torch
import chainrule.torch.nn as nn
import chainrule.torch.optim as optim

csv_path = 'yourdata.csv'
n_epochs = 100
batch_size = 10

dataset = np.loadtxt(csv_path, delimiter=',')
X = dataset[:, 0:8]
y = dataset[:, 8]
X = torch.tensor(X, dtype=torch.float32)
y = torch.tensor(y, dtype=torch.float32).reshape(-1, 1)


class NNClassifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.hidden1 = nn.Linear(8, 12)
        self.act1 = nn.ReLU()
        self.hidden2 = nn.Linear(12, 8)
        self.act2 = nn.ReLU()
        self.output = nn.Linear(8, 1)
        self.act_output = nn.Sigmoid()

    def forward(self, x):
        x = self.act1(self.hidden1(x))
        x = self.act2(self.hidden2(x))
        x = self.act_output(self.output(x))
        return x


torch.manual_seed(0)
model = NNClassifier()
print(model)

loss_fn = nn.BCELoss()
optimizer = optim.Adam(model.parameters(), lr=0.001)

for epoch in range(n_epochs):
    for i in range(0, len(X), batch_size):
        Xbatch = X[i:i + batch_size]
        y_pred = model(Xbatch)
        ybatch = y[i:i + batch_size]
        loss = loss_fn(y_pred, ybatch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    if epoch % 20 == 0:
        print(f'Finished epoch {epoch}, latest loss {loss.item():.4f}')

with torch.no_grad():
    y_pred = model(X)
accuracy = (y_pred.round() == y).float().mean()
print(f"Accuracy {float(accuracy):.4f}")
