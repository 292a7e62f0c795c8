# The notes' PyTorch moons classifier: 2-20-40-20-1 with ReLU between the layers and a sigmoid
# output, a DataLoader of mini-batches of 10, BCELoss and Adam(lr=0.01) for 100 epochs, a predict
# method under torch.no_grad() that moves the output to the CPU and thresholds it at 1/2.
# Only the imports name chainrule.torch.
import numpy as np
from sklearn.datasets import make_moons
import matplotlib.pyplot as plt

import chainrule.torch as torch
import chainrule.torch.nn as nn
import chainrule.torch.nn.functional as F
from chainrule.torch.optim import Adam
from chainrule.torch.utils.data import TensorDataset, DataLoader

n_samples = 1000
epochs = 100
X, y = make_moons(n_samples=n_samples, noise=0.2, random_state=0)
X_test, y_test = make_moons(n_samples=n_samples // 2, noise=0.2, random_state=1)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(2, 20)
        self.fc2 = nn.Linear(20, 40)
        self.fc3 = nn.Linear(40, 20)
        self.fc4 = nn.Linear(20, 1)
        self.relu = nn.ReLU()

    def forward(self, x):
        u = self.fc1(x)
        z = self.relu(u)
        u = self.fc2(z)
        z = self.relu(u)
        u = self.fc3(z)
        z = self.relu(u)
        u = self.fc4(z)
        z = torch.sigmoid(u)
        return z

    def predict(self, A):
        with torch.no_grad():
            output = self.forward(A)
            output.cpu()
            output = output.cpu().numpy()
            return np.array([0 if x < 1 / 2 else 1 for x in output])


x_t = torch.FloatTensor(X)
y_t = torch.FloatTensor(y).unsqueeze(1)
ds = TensorDataset(x_t, y_t)
dl = DataLoader(ds, batch_size=10, shuffle=True)

torch.manual_seed(0)
ann = Net()
loss_fn = nn.BCELoss()
optimizer = Adam(ann.parameters(), lr=0.01)

losses = []
for epoch in range(epochs):
    aggr_loss = 0.0
    for points, labels in dl:
        output = ann(points)
        loss = loss_fn(output, labels)
        aggr_loss += loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    print(aggr_loss.item())
    losses.append(aggr_loss.item())

train_accuracy = (ann.predict(torch.FloatTensor(X)) == y).mean()
test_accuracy = (ann.predict(torch.FloatTensor(X_test)) == y_test).mean()
print("train accuracy", train_accuracy, "test accuracy", test_accuracy)

xx, yy = np.meshgrid(np.linspace(-2, 3, 200), np.linspace(-1.5, 2, 200))
grid = torch.FloatTensor(np.c_[xx.ravel(), yy.ravel()])
plt.contourf(xx, yy, ann.predict(grid).reshape(xx.shape), alpha=0.3)
plt.scatter(X[:, 0], X[:, 1], c=y, s=5)
plt.show()
